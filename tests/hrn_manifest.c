/* rec_manifest.c — tests for the run manifest and the SHA-256 cache (harness/manifest.c).
 *
 * The manifest must state the build, the host (checked against what the test
 * reads itself from uname/sysconf and /proc), the model and suite hashes and
 * the times; it must survive a JSON round trip. The hash cache must be used
 * when the file is unchanged (shown by planting a wrong hash in it), and
 * bypassed when the file changes, the cache is corrupt or cannot be written.
 */
#include "common/sha256.h"
#include "engine/eng.h"
#include "harness/hrn.h"
#include "harness/manifest.h"
#include "records/manifest.h"
#include "records/results.h"
#include "tests/tap.h"
#include "tests/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static time_t parse_utc(const char *s)
{
	struct tm tm = { 0 };
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return (time_t)-1;
	return timegm(&tm);
}

static void test_collect(void)
{
	char model[512], suite[512], cache[512], want[65];
	struct mrl_err err = { 0 };
	struct rec_manifest m;
	snprintf(model, sizeof model, "%s/model.gguf", dir);
	snprintf(suite, sizeof suite, "%s/suite.json", dir);
	snprintf(cache, sizeof cache, "%s/cache", dir);
	setenv("MERILO_CACHE_DIR", cache, 1);
	cli_write_file(model, "GGUF pretend model bytes");
	cli_write_file(suite, "{\"name\": \"suite\"}\n");
	json_t *settings = json_pack("{s:i, s:s, s:[s,s]}", "seed", 42, "bos_mode", "auto", "languages", "sr", "en");
	time_t t0 = time(NULL);
	int rc = hrn_manifest_collect(&m, model, suite, settings, &err);
	is_int(rc, 0, "manifest collected");
	if (rc)
		diag("%s", err.msg);
	is_str(m.merilo_version, MRL_VERSION, "merilo version is MRL_VERSION");
	is_str(m.git_commit, hrn_build_commit(), "git commit from the build");
	is_str(m.compiler, hrn_build_compiler(), "compiler from the build");
	is_str(m.build_options, hrn_build_options(), "build options from the build");
	ok(m.cpu_model ? m.cpu_model[0] != '\0' : m.cpu_model_null_reason != NULL,
	   "a CPU model, or null with a reason");
	diag("cpu: %s", m.cpu_model ? m.cpu_model : m.cpu_model_null_reason);
	char kernels[128];
	eng_cpu_kernels(kernels, sizeof kernels);
	is_str(m.cpu_kernels, kernels, "the CPU kernels taken, as eng_cpu_kernels says");
	regex_t re;
	regcomp(&re, "^(avx512|avx2|plain-C)( vnni)?( gfni)?( amx-int8)?( dec-prefetch-[0-9]+)?$", REG_EXTENDED | REG_NOSUB);
	ok(m.cpu_kernels && regexec(&re, m.cpu_kernels, 0, NULL, 0) == 0, "... the build's width, then the run-time choices");
	regfree(&re);
	is_int(m.logical_cores, sysconf(_SC_NPROCESSORS_ONLN), "logical cores = online CPUs");
	ok(m.mem_total_bytes > (1 << 20), "memory total is known and plausible");
	struct utsname u;
	uname(&u);
	ok(m.kernel && !strncmp(m.kernel, u.sysname, strlen(u.sysname)) && strstr(m.kernel, u.release),
	   "kernel names the uname system and release");
	is_str(m.hostname, u.nodename, "hostname from uname");
	is_str(m.machine, u.machine, "machine from uname");
	struct stat st;
	if (stat("/proc/driver/nvidia", &st)) {
		ok(m.gpu_name == NULL && m.gpu_driver == NULL && m.gpu_count == 0, "no NVIDIA driver: GPU fields null");
		like(m.gpu_null_reason, "no NVIDIA driver", "with the reason \"no NVIDIA driver\"");
	} else {
		ok(m.gpu_count > 0 && (m.gpu_name || m.gpu_null_reason), "NVIDIA driver: GPUs counted, a name or a reason");
		ok(m.gpu_driver != NULL, "and a driver version");
		diag("gpu: %s x%lld, driver %s", m.gpu_name ? m.gpu_name : m.gpu_null_reason, (long long)m.gpu_count,
		     m.gpu_driver ? m.gpu_driver : "?");
	}
	mrl_sha256_buf_hex("GGUF pretend model bytes", 24, want);
	is_str(m.model_sha256, want, "model sha256 is that of its bytes");
	is_int(m.model_size_bytes, 24, "model size in bytes");
	is_str(m.model_path, model, "model path as given");
	mrl_sha256_buf_hex("{\"name\": \"suite\"}\n", 18, want);
	is_str(m.suite_sha256, want, "suite sha256 is that of its bytes");
	ok(json_equal(m.settings, settings), "settings are copied in");
	time_t start = parse_utc(m.started_utc);
	ok(start != (time_t)-1 && start >= t0 - 1 && start <= time(NULL) + 1, "started_utc is ISO 8601 UTC and now");
	ok(m.ended_utc == NULL, "ended_utc is null until finished");
	rec_manifest_finish(&m, &err);
	ok(parse_utc(m.ended_utc) >= start, "ended_utc set by finish, not before the start");

	json_t *j = rec_manifest_to_json(&m);
	ok(j != NULL, "serialized to JSON");
	ok(json_is_null(json_object_get(json_object_get(j, "host"), "gpu_name")) == (m.gpu_name == NULL),
	   "an unknown GPU is a JSON null");
	struct rec_manifest b;
	rc = rec_manifest_from_json(j, &b, "test", "$", &err);
	is_int(rc, 0, "parsed back");
	if (rc)
		diag("%s", err.msg);
	ok(cli_same_str(m.merilo_version, b.merilo_version) && cli_same_str(m.git_commit, b.git_commit) &&
	   cli_same_str(m.compiler, b.compiler) && cli_same_str(m.build_options, b.build_options) &&
	   cli_same_str(m.cpu_model, b.cpu_model) && cli_same_str(m.cpu_model_null_reason, b.cpu_model_null_reason) &&
	   cli_same_str(m.cpu_kernels, b.cpu_kernels) &&
	   m.logical_cores == b.logical_cores && m.mem_total_bytes == b.mem_total_bytes &&
	   cli_same_str(m.kernel, b.kernel) && cli_same_str(m.machine, b.machine) && cli_same_str(m.hostname, b.hostname) &&
	   cli_same_str(m.gpu_name, b.gpu_name) && cli_same_str(m.gpu_driver, b.gpu_driver) && m.gpu_count == b.gpu_count &&
	   cli_same_str(m.gpu_null_reason, b.gpu_null_reason) && cli_same_str(m.model_path, b.model_path) &&
	   m.model_size_bytes == b.model_size_bytes && cli_same_str(m.model_sha256, b.model_sha256) &&
	   cli_same_str(m.suite_path, b.suite_path) && cli_same_str(m.suite_sha256, b.suite_sha256) &&
	   json_equal(m.settings, b.settings) && cli_same_str(m.started_utc, b.started_utc) &&
	   cli_same_str(m.ended_utc, b.ended_utc),
	   "every manifest field round-trips through JSON");
	rec_manifest_release(&b);

	json_object_set_new(json_object_get(j, "model"), "size_bytes", json_string("big"));
	is_int(rec_manifest_from_json(j, &b, "x.json", "/manifest", &err), MRL_EINPUT, "a bad field is refused");
	like(err.msg, "x.json: /manifest/model/size_bytes: expected an integer", "naming source and path");
	rec_manifest_release(&b);
	json_object_set_new(j, "schema_version", json_integer(3));
	is_int(rec_manifest_from_json(j, &b, "x.json", "$.manifest", &err), MRL_EUNSUPPORTED,
	       "an unknown manifest version is refused");
	rec_manifest_release(&b);
	json_decref(j);
	rec_manifest_release(&m);

	struct rec_manifest none;
	is_int(hrn_manifest_collect(&none, NULL, NULL, NULL, &err), 0, "a manifest without model or suite");
	ok(none.model_sha256 == NULL && none.model_size_bytes == -1 && none.settings == NULL, "has them null");
	j = rec_manifest_to_json(&none);
	rec_manifest_release(&none);
	is_int(rec_manifest_from_json(j, &none, "t", "$", &err), 0, "and round-trips");
	ok(none.model_size_bytes == -1 && none.settings == NULL, "still null");
	rec_manifest_release(&none);
	json_decref(j);

	char missing[600];
	snprintf(missing, sizeof missing, "%s/nope.gguf", dir);
	is_int(hrn_manifest_collect(&m, missing, NULL, NULL, &err), MRL_EIO, "a missing model is an error");
	like(err.msg, missing, "naming the path");
	rec_manifest_release(&m);
	json_decref(settings);
}

static void test_cache(void)
{
	char path[512], cache[512], tsv[600], want[65], got[65];
	struct mrl_err err = { 0 };
	bool cached = true;
	uint64_t size = 0;
	snprintf(path, sizeof path, "%s/weights.bin", dir);
	snprintf(cache, sizeof cache, "%s/cache2/merilo", dir);
	snprintf(tsv, sizeof tsv, "%s/sha256.tsv", cache);
	setenv("MERILO_CACHE_DIR", cache, 1);
	cli_write_file(path, "weights v1");
	mrl_sha256_buf_hex("weights v1", 10, want);

	is_int(hrn_sha256_file_cached(path, got, &size, &cached, &err), 0, "first hash (cache missing)");
	is_str(got, want, "is correct");
	ok(!cached, "and computed, not cached");
	is_int(size, 10, "size reported");
	struct stat st;
	ok(stat(tsv, &st) == 0, "the cache file is created (with its directories)");
	hrn_sha256_file_cached(path, got, NULL, &cached, &err);
	ok(cached, "the second call is answered by the cache");
	is_str(got, want, "with the same hash");

	/* plant a wrong hash for the same key: a cache hit must return it */
	char *text = NULL;
	FILE *f = fopen(tsv, "r");
	text = calloc(1, 4096);
	size_t n = fread(text, 1, 4095, f);
	fclose(f);
	ok(n > 70 && text[64] == '\t', "the cache line starts with the hash and a tab");
	memset(text, 'e', 64);
	f = fopen(tsv, "w");
	fwrite(text, 1, n, f);
	fclose(f);
	hrn_sha256_file_cached(path, got, NULL, &cached, &err);
	ok(cached && got[0] == 'e' && got[63] == 'e', "an unchanged file is not re-read (the planted hash comes back)");

	/* change the file (new size and mtime): recomputed */
	cli_write_file(path, "weights v2, longer");
	mrl_sha256_buf_hex("weights v2, longer", 18, want);
	hrn_sha256_file_cached(path, got, &size, &cached, &err);
	ok(!cached, "a changed file misses the cache");
	is_str(got, want, "and is hashed afresh");
	hrn_sha256_file_cached(path, got, NULL, &cached, &err);
	ok(cached, "the new entry is cached");
	f = fopen(tsv, "r");
	int lines = 0;
	for (int c; (c = fgetc(f)) != EOF;)
		lines += c == '\n';
	fclose(f);
	is_int(lines, 1, "it replaced the old entry for the same path");

	/* same size, only the mtime differs: still a miss */
	cli_write_file(path, "weights v3, longer");
	struct timespec ts[2] = { { 1000000, 0 }, { 1000000, 0 } };
	utimensat(AT_FDCWD, path, ts, 0);
	mrl_sha256_buf_hex("weights v3, longer", 18, want);
	hrn_sha256_file_cached(path, got, NULL, &cached, &err);
	ok(!cached && !strcmp(got, want), "a same-size file with another mtime is re-hashed");

	/* a corrupt cache recomputes */
	cli_write_file(tsv, "\x01\x02garbage\tnot\ta\tcache\n\n\t\t\t\n");
	is_int(hrn_sha256_file_cached(path, got, NULL, &cached, &err), 0, "a corrupt cache is not an error");
	ok(!cached && !strcmp(got, want), "it recomputes the right hash");
	hrn_sha256_file_cached(path, got, NULL, &cached, &err);
	ok(cached, "and rewrites a good cache");

	/* an unwritable cache directory: still a correct hash */
	setenv("MERILO_CACHE_DIR", "/proc/merilo-cannot-exist", 1);
	is_int(hrn_sha256_file_cached(path, got, NULL, &cached, &err), 0, "an unwritable cache is not an error");
	ok(!cached && !strcmp(got, want), "the hash is computed");

	/* where the cache lives */
	char buf[512];
	setenv("MERILO_CACHE_DIR", "/x/y", 1);
	hrn_cache_dir(buf, sizeof buf);
	is_str(buf, "/x/y", "MERILO_CACHE_DIR wins");
	unsetenv("MERILO_CACHE_DIR");
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	hrn_cache_dir(buf, sizeof buf);
	is_str(buf, "/xdg/merilo", "then $XDG_CACHE_HOME/merilo");
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	hrn_cache_dir(buf, sizeof buf);
	is_str(buf, "/home/u/.cache/merilo", "then ~/.cache/merilo");
	unsetenv("HOME");
	is_int(hrn_cache_dir(buf, sizeof buf), -1, "none without any of them");
	/* with no cache directory at all, hashing still works */
	is_int(hrn_sha256_file_cached(path, got, NULL, &cached, &err), 0, "hashing works with no cache directory");
	ok(!strcmp(got, want), "and is right");
	free(text);
}

/* In a child with a private mount namespace, put a fake NVIDIA driver under
 * /proc/driver (a tmpfs) and report what the manifest makes of it. */
static void fake_nvidia_child(int out_fd)
{
	char msg[1024];
	struct rec_manifest m;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/proc/driver", "tmpfs", 0, "size=64k")) {
		snprintf(msg, sizeof msg, "skip: cannot mount a tmpfs on /proc/driver: %s", strerror(errno));
		goto out;
	}
	mkdir("/proc/driver/nvidia", 0755);
	mkdir("/proc/driver/nvidia/gpus", 0755);
	mkdir("/proc/driver/nvidia/gpus/0000:18:00.0", 0755);
	mkdir("/proc/driver/nvidia/gpus/0000:2a:00.0", 0755);
	cli_write_file("/proc/driver/nvidia/version",
		   "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  Release Build  "
		   "(dvs-builder@U16-I3-B03-4-3)  Tue Mar  5 19:21:32 UTC 2024\nGCC version:  gcc version 12.2.0\n");
	cli_write_file("/proc/driver/nvidia/gpus/0000:18:00.0/information",
		   "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 17\nBus Type: \t PCIe\n");
	cli_write_file("/proc/driver/nvidia/gpus/0000:2a:00.0/information",
		   "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 18\n");
	hrn_manifest_collect(&m, NULL, NULL, NULL, NULL);
	snprintf(msg, sizeof msg, "name=[%s] driver=[%s] count=%lld reason=[%s]", m.gpu_name ? m.gpu_name : "(null)",
		 m.gpu_driver ? m.gpu_driver : "(null)", (long long)m.gpu_count,
		 m.gpu_null_reason ? m.gpu_null_reason : "(null)");
	rec_manifest_release(&m);
	umount("/proc/driver");
out:
	if (write(out_fd, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(0);
}

static void test_fake_nvidia(void)
{
	int p[2];
	char buf[1024] = { 0 };
	if (pipe(p)) {
		ok(0, "pipe");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		fake_nvidia_child(p[1]);
	}
	close(p[1]);
	size_t got = 0;
	for (ssize_t n; (n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0;)
		got += (size_t)n;
	close(p[0]);
	waitpid(pid, NULL, 0);
	diag("fake driver: %s", buf);
	if (!strncmp(buf, "skip:", 5)) {
		for (int i = 0; i < 4; i++)
			skip(buf + 6, "GPU detection with a fake /proc/driver/nvidia");
		return;
	}
	like(buf, "name=[NVIDIA H100 80GB HBM3]", "GPU model read from gpus/*/information");
	like(buf, "driver=[550.54.15]", "driver version read from the NVRM line (open kernel module format)");
	like(buf, "count=2", "both GPUs counted");
	like(buf, "reason=[(null)]", "no null reason when the GPU is known");
}

/* hrn_report on failure paths: a code given without a message (a callee that returned
 * MRL_ENOMEM before mrl_err_set could run) or no code at all is still a failure; before,
 * an err left at MRL_OK printed "unknown error" and exited 0. */
static void test_report_exit(void)
{
	struct mrl_err e = { 0 };
	is_int(hrn_report(&e), HRN_EXIT_RUNTIME, "hrn_report with nothing set: exit 4, not 0");
	mrl_err_set(&e, MRL_EINPUT, "x.json: not JSON");
	is_int(hrn_report(&e), HRN_EXIT_INPUT, "a bad input: exit 3");
	struct mrl_err m = { .code = MRL_ENOMEM };
	is_int(hrn_report(&m), HRN_EXIT_RUNTIME, "out of memory with no message: exit 4");
}

int main(void)
{
	test_report_exit();
	if (!cli_tmpdir(dir, sizeof dir, "manifest")) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_collect();
	test_cache();
	test_fake_nvidia();
	cli_rmtree(dir);
	return done_testing();
}
