/* rss.c — peak resident memory and process-wide usage, without PAPI.
 *
 * Peak RSS comes from two kernel sources that measure the same thing
 * differently: VmHWM in /proc/self/status (the high-water mark of the RSS,
 * resettable through /proc/self/clear_refs so one phase can be measured) and
 * getrusage's ru_maxrss (KiB on Linux, whole process lifetime, never reset).
 * getrusage(RUSAGE_SELF) also gives CPU time, page faults and context switches
 * summed over all threads of the process: the software events that PAPI's
 * perf::* would count, available even where PAPI is not.
 */
#include "metrics/met.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Find "<key>:  <n> kB" in a /proc status file; bytes into *r or null. */
static void status_kb_field(FILE *f, const char *path, const char *key, struct met_reading *r)
{
	char line[256];
	size_t klen = strlen(key);

	rewind(f);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		char *end;
		errno = 0;
		unsigned long long kb = strtoull(line + klen + 1, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno || end == line + klen + 1 || strncmp(end, "kB", 2) != 0) {
			met_reading_null(r, "bytes", "%s: %s: cannot parse '%.40s'", path, key,
					 line + klen + 1);
			return;
		}
		met_reading_set(r, (double)kb * 1024.0, "bytes");
		return;
	}
	met_reading_null(r, "bytes", "%s: no %s line", path, key);
}

void met_rss_read_from(struct met_rss *out, const char *status_path)
{
	FILE *f = fopen(status_path, "r");
	if (!f) {
		int e = errno;
		met_reading_null(&out->vmhwm, "bytes", "%s: %s", status_path, strerror(e));
		met_reading_null(&out->current, "bytes", "%s: %s", status_path, strerror(e));
	} else {
		status_kb_field(f, status_path, "VmHWM", &out->vmhwm);
		status_kb_field(f, status_path, "VmRSS", &out->current);
		fclose(f);
	}

	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		met_reading_null(&out->ru_maxrss, "bytes", "getrusage: %s", strerror(errno));
	else /* Linux reports ru_maxrss in KiB */
		met_reading_set(&out->ru_maxrss, (double)ru.ru_maxrss * 1024.0, "bytes");
}

void met_rss_read(struct met_rss *out)
{
	met_rss_read_from(out, "/proc/self/status");
}

int met_rss_reset_peak(struct mrl_err *err)
{
	const char *path = "/proc/self/clear_refs";
	FILE *f = fopen(path, "w");
	if (!f)
		return mrl_err_set(err, MRL_EIO, "%s: %s (cannot reset VmHWM)", path,
				   strerror(errno));
	int bad = fputs("5", f) < 0;
	bad |= fclose(f) != 0;
	if (bad)
		return mrl_err_set(err, MRL_EIO, "%s: write failed: %s (kernel < 4.0?)", path,
				   strerror(errno));
	return 0;
}

void met_usage_read(struct met_usage *out)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0) {
		const char *why = strerror(errno);
		met_reading_null(&out->user_s, "s", "getrusage: %s", why);
		met_reading_null(&out->sys_s, "s", "getrusage: %s", why);
		met_reading_null(&out->minflt, "count", "getrusage: %s", why);
		met_reading_null(&out->majflt, "count", "getrusage: %s", why);
		met_reading_null(&out->vcsw, "count", "getrusage: %s", why);
		met_reading_null(&out->ivcsw, "count", "getrusage: %s", why);
		return;
	}
	met_reading_set(&out->user_s, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6, "s");
	met_reading_set(&out->sys_s, (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6, "s");
	met_reading_set(&out->minflt, (double)ru.ru_minflt, "count");
	met_reading_set(&out->majflt, (double)ru.ru_majflt, "count");
	met_reading_set(&out->vcsw, (double)ru.ru_nvcsw, "count");
	met_reading_set(&out->ivcsw, (double)ru.ru_nivcsw, "count");
}

static void diff_one(const struct met_reading *end, const struct met_reading *start,
		     struct met_reading *out)
{
	if (!end->valid)
		*out = *end;
	else if (!start->valid)
		*out = *start;
	else
		met_reading_set(out, end->value - start->value, end->unit);
}

void met_usage_diff(const struct met_usage *end, const struct met_usage *start,
		    struct met_usage *out)
{
	diff_one(&end->user_s, &start->user_s, &out->user_s);
	diff_one(&end->sys_s, &start->sys_s, &out->sys_s);
	diff_one(&end->minflt, &start->minflt, &out->minflt);
	diff_one(&end->majflt, &start->majflt, &out->majflt);
	diff_one(&end->vcsw, &start->vcsw, &out->vcsw);
	diff_one(&end->ivcsw, &start->ivcsw, &out->ivcsw);
}
