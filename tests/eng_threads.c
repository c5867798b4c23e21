/* eng_threads.c — results do not depend on the number of threads.
 *
 * Every output element is computed by exactly one thread with a fixed
 * summation order, so logits must be bit-identical (memcmp) for 1, 2 and 3
 * threads: a 40-token prefill with all logits, then 8 single-token decode steps.
 * Run on every weight type of the fixture models (each has its own kernels).
 * And the default thread count follows the CPUs the process may use (taskset,
 * container CPU sets), not the machine's online CPUs.
 */
#include "tests/tap.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/eng.h"

#define N_PREFILL 40
#define N_STEPS 8

/* Logits of the prefill (all rows) followed by the decode steps. */
static float *run(const char *path, int n_threads, size_t *n_floats, uint32_t *n_vocab)
{
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct eng_open_opts o = { .n_threads = n_threads };
	float *out = NULL;
	if (eng_model_open(&m, path, &o, &err) || eng_ctx_new(&c, m, 128, &err)) {
		diag("%s", err.msg);
		goto done;
	}
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	*n_vocab = d.n_vocab;
	*n_floats = (size_t)(N_PREFILL + N_STEPS) * d.n_vocab;
	out = calloc(*n_floats, sizeof *out);
	int32_t toks[N_PREFILL];
	for (int i = 0; i < N_PREFILL; i++)
		toks[i] = i == 0 ? 1 : (int32_t)((i * 7919u + 13u) % d.n_vocab);
	if (eng_decode(c, toks, N_PREFILL, out, true, &err)) {
		diag("%s", err.msg);
		free(out);
		out = NULL;
		goto done;
	}
	for (int s = 0; s < N_STEPS; s++) {
		int32_t t = (int32_t)((s * 104729u + 5u) % d.n_vocab);
		if (eng_decode(c, &t, 1, out + (size_t)(N_PREFILL + s) * d.n_vocab, false, &err)) {
			diag("%s", err.msg);
			free(out);
			out = NULL;
			goto done;
		}
	}
done:
	eng_ctx_free(c);
	eng_model_close(m);
	return out;
}

/* In a child pinned to one CPU, the default thread count is 1. */
static void check_default_threads(void)
{
	cpu_set_t all;
	ok(sched_getaffinity(0, sizeof all, &all) == 0 && eng_default_threads() == CPU_COUNT(&all),
	   "default threads = the CPUs in this process's affinity mask");
	pid_t pid = fork();
	if (pid == 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &all)) {
				CPU_SET(c, &one);
				break;
			}
		_exit(sched_setaffinity(0, sizeof one, &one) ? 2 : eng_default_threads() == 1 ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pinned to one CPU (as taskset -c 0), the default is 1 thread");
}

int main(void)
{
	check_default_threads();
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "logits bit-identical for 1, 2 and 3 threads");
		return done_testing();
	}
	static const char *const models[] = { "tiny-llama-ff192-f32", "tiny-llama-ff192-f16",
					      "tiny-llama-ff192-q8_0", "tiny-llama-ff192-q4_0" };
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		char path[1024], name[256];
		snprintf(path, sizeof path, "%s/models/%s.gguf", fx, models[i]);
		size_t n1 = 0, n2 = 0, n3 = 0;
		uint32_t nv = 0;
		float *l1 = run(path, 1, &n1, &nv), *l2 = run(path, 2, &n2, &nv), *l3 = run(path, 3, &n3, &nv);
		snprintf(name, sizeof name, "%s: runs with 1, 2 and 3 threads", models[i]);
		if (ok(l1 && l2 && l3, name)) {
			size_t pre = (size_t)N_PREFILL * nv * sizeof(float);
			snprintf(name, sizeof name, "%s: prefill logits bit-identical for 1 and 2 threads", models[i]);
			ok(!memcmp(l1, l2, pre), name);
			snprintf(name, sizeof name, "%s: prefill logits bit-identical for 1 and 3 threads", models[i]);
			ok(!memcmp(l1, l3, pre), name);
			snprintf(name, sizeof name, "%s: decode logits bit-identical for 1, 2 and 3 threads", models[i]);
			ok(!memcmp((char *)l1 + pre, (char *)l2 + pre, n1 * sizeof(float) - pre) &&
			   !memcmp((char *)l1 + pre, (char *)l3 + pre, n1 * sizeof(float) - pre), name);
			float s = 0;
			for (size_t k = 0; k < n1; k++)
				s += l1[k] * l1[k];
			snprintf(name, sizeof name, "%s: logits are not all zero", models[i]);
			ok(s > 0, name);
		}
		free(l1);
		free(l2);
		free(l3);
	}
	return done_testing();
}
