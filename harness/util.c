/* util.c — exit-code mapping, error printing, build description. */
#include "harness/hrn.h"

#include <stdarg.h>
#include <stdio.h>

int hrn_exit_for(int mrl_code)
{
	switch (mrl_code) {
	case MRL_OK: return HRN_EXIT_OK;
	case MRL_EINPUT:
	case MRL_EIO:
	case MRL_EUNSUPPORTED: return HRN_EXIT_INPUT;
	default: return HRN_EXIT_RUNTIME;
	}
}

int hrn_report(const struct mrl_err *err)
{
	fprintf(stderr, "merilo: %s\n", err->msg[0] ? err->msg : "unknown error");
	return hrn_exit_for(err->code);
}

int hrn_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "merilo %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'merilo %s --help'.\n", cmd);
	return HRN_EXIT_USAGE;
}

const char *hrn_build_compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}

const char *hrn_build_commit(void)
{
	return MRL_GIT_COMMIT;
}

const char *hrn_build_options(void)
{
	return "cflags=" MRL_CFLAGS
#if MRL_HAVE_CUDA
	       " CUDA=yes"
#else
	       " CUDA=no"
#endif
#if MRL_HAVE_PAPI
	       " PAPI=yes";
#else
	       " PAPI=no";
#endif
}
