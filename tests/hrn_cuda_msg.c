/* hrn_cuda_msg.c — `--backend cuda` on a machine without an NVIDIA driver says so.
 *
 * Issue 12, point 10: without libcuda.so.1 the CUDA runtime answers "CUDA driver
 * version is insufficient for CUDA runtime version", which reads as "update the
 * driver". Every command that takes --backend (generate, perplexity, bench, run)
 * must instead print one line naming what is missing, "no NVIDIA driver found
 * (libcuda.so.1 absent)", and exit 4 (runtime failure, as before the fix); run
 * writes nothing. The engine says the same through eng_model_open, and the CUDA
 * library's own device_open (where it was built) no longer repeats the runtime's
 * string.
 *
 * Where libcuda.so.1 loads (a machine with a driver) the file skips with that
 * reason: what it checks cannot happen there.
 */
#include "tests/tap.h"
#include "tests/cli.h"

#include <dlfcn.h>

#include "engine/cuda/cuda_api.h"
#include "engine/eng_int.h"

#define NO_DRIVER "no NVIDIA driver found (libcuda.so.1 absent)"

/* The output is one line (a trailing newline allowed) and contains NO_DRIVER. */
static void check_one_line(const char *out, const char *what)
{
	char name[200];
	snprintf(name, sizeof name, "%s: says " NO_DRIVER, what);
	like(out, NO_DRIVER, name);
	snprintf(name, sizeof name, "%s: one line", what);
	if (!ok(cli_count_lines(out) == 1, name))
		diag("output: %s", out);
	snprintf(name, sizeof name, "%s: not the runtime's 'insufficient' string", what);
	ok(!strstr(out, "insufficient"), name);
}

static void test_commands(const char *tmp, const char *model)
{
	char text[300], runout[300], *out = NULL;
	snprintf(text, sizeof text, "%s/text.txt", tmp);
	snprintf(runout, sizeof runout, "%s/r1", tmp);
	cli_write_file(text, "Dobar dan. Ово је кратак текст за перплексност, and a little English.\n");

	int rc = cli_run(&out, "generate --backend cuda --model %s --prompt zdravo -n 2", model);
	is_int(rc, 4, "generate --backend cuda: exit 4 (runtime failure)");
	check_one_line(out, "generate");
	free(out);

	rc = cli_run(&out, "perplexity --backend cuda --model %s --file %s", model, text);
	is_int(rc, 4, "perplexity --backend cuda: exit 4");
	check_one_line(out, "perplexity");
	free(out);

	rc = cli_run(&out, "bench --backend cuda --model %s", model);
	is_int(rc, 4, "bench --backend cuda: exit 4");
	check_one_line(out, "bench");
	free(out);

	rc = cli_run(&out, "run --backend cuda --model %s --suite tests/data/suites/good-mc.json --out %s", model,
		     runout);
	is_int(rc, 4, "run --backend cuda: exit 4");
	check_one_line(out, "run");
	free(out);
	ok(access(runout, F_OK) != 0, "run --backend cuda: no run folder half-written");
}

static void test_engine(const char *model)
{
	struct eng_model *m = NULL;
	struct eng_open_opts o = { .backend = ENG_BACKEND_CUDA };
	struct mrl_err err = { 0 };
	int rc = eng_model_open(&m, model, &o, &err);
	is_int(rc, MRL_ERUNTIME, "eng_model_open with ENG_BACKEND_CUDA: MRL_ERUNTIME");
	like(err.msg, NO_DRIVER, "eng_model_open: the message names the missing driver library");
	ok(m == NULL, "eng_model_open: no model handle on failure");
	if (m)
		eng_model_close(m);

	/* the CUDA library's own initialisation, where it was built here */
	const struct eng_cuda_api *api = NULL;
	void *lib = NULL, *dev = NULL;
	char desc[256] = "", msg[512] = "";
	if (eng_cuda_load(&api, &lib, &err)) {
		skip("libmerilo-cuda.so not loadable here (no nvcc?)", "device_open names the missing driver");
		return;
	}
	rc = api->device_open(&dev, desc, sizeof desc, msg, sizeof msg);
	ok(rc != 0 && dev == NULL, "device_open fails without a driver");
	like(msg, "no NVIDIA driver found (libcuda.so.1 absent", "device_open names the missing driver");
	ok(!strstr(msg, "insufficient"), "device_open: not the runtime's 'insufficient' string");
	if (dev)
		api->device_close(dev);
	eng_cuda_unload(lib);
}

int main(void)
{
	void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (drv) {
		dlclose(drv);
		skip_all("libcuda.so.1 loads here (an NVIDIA driver is installed): the no-driver message cannot happen");
	}
	if (!cli_merilo()) {
		skip("MERILO does not name the merilo binary (run through make test)", "--backend cuda without a driver");
		return done_testing();
	}
	char tmp[256], model[300], *out = NULL;
	if (!cli_tmpdir(tmp, sizeof tmp, "cudamsg")) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	snprintf(model, sizeof model, "%s/tiny.gguf", tmp);
	setenv("MERILO_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
	int rc = cli_run(&out, "synth --preset tiny --seed 1 -o %s", model);
	is_int(rc, 0, "merilo synth --preset tiny");
	free(out);
	if (!rc) {
		test_commands(tmp, model);
		test_engine(model);
	}
	cli_rmtree(tmp);
	return done_testing();
}
