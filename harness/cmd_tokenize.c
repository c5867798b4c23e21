/* cmd_tokenize.c — `merilo tokenize`: print the token ids (or pieces) of a text.
 *
 * The text is a command-line argument or a whole file (newlines included: one
 * text, one output line). With --lines every input line is tokenized on its own
 * and gives one output line. The model may be a vocabulary-only GGUF; only the
 * tokenizer is loaded. BOS is prepended when the model's metadata says so
 * (tokenizer.ggml.add_bos_token, or tokenizer_config.json's add_bos_token), unless
 * --no-bos. The model may also be an HF tokenizer.json or tokenizer.model, or a folder holding one.
 */
#include "harness/hrn.h"
#include "engine/eng.h"
#include "common/fileio.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TEXT_BYTES ((size_t)512 << 20)

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo tokenize --model MODEL [--no-bos] [--parse-special] [--lines] [--pieces] (--file FILE | TEXT)\n"
		"Print the token ids of a text, space-separated, on one line.\n");
	hrn_print_options(out, opts, 12);
	fprintf(out, "exit codes: 0 success, 2 usage error, 3 missing or bad model or text file, 4 runtime failure\n");
}

static int read_stdin(char **data, size_t *len, struct mrl_err *err)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory reading stdin");
	for (;;) {
		if (n + 1 == cap) {
			if (cap >= MAX_TEXT_BYTES) {
				free(buf);
				return mrl_err_set(err, MRL_EINPUT, "stdin: more than %zu bytes", MAX_TEXT_BYTES);
			}
			char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return mrl_err_set(err, MRL_ENOMEM, "out of memory reading stdin");
			}
			buf = p;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - 1 - n, stdin);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(stdin)) {
		free(buf);
		return mrl_err_set(err, MRL_EIO, "stdin: read error");
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

static void put_piece(const char *p, FILE *out)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7f || c == '\\')
			fprintf(out, "\\x%02X", c);
		else
			fputc(c, out);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --bench: tokenize the text (whole, or line by line) three times; report the best. */
static int bench(const struct eng_model *m, const char *text, size_t len, unsigned flags, bool lines,
		 struct mrl_err *err)
{
	double best = 1e300;
	size_t n_tokens = 0;
	for (int rep = 0; rep < 3; rep++) {
		size_t count = 0;
		double t0 = now_s();
		for (size_t pos = 0; pos < len || (!lines && pos == 0);) {
			const char *nl = lines ? memchr(text + pos, '\n', len - pos) : NULL;
			size_t end = nl ? (size_t)(nl - text) : len;
			int32_t *ids = NULL;
			size_t n = 0;
			int rc = eng_tokenize_flags(m, text + pos, end - pos, flags, &ids, &n, err);
			free(ids);
			if (rc)
				return rc;
			count += n;
			pos = end + 1;
		}
		double dt = now_s() - t0;
		if (dt < best)
			best = dt;
		n_tokens = count;
	}
	/* a rate of no bytes means nothing: n/a, not 0 */
	printf("bytes %zu tokens %zu seconds %.4f MB/s ", len, n_tokens, best);
	if (len && best > 0)
		printf("%.2f", (double)len / 1e6 / best);
	else
		printf("n/a");
	if (len && n_tokens)
		printf(" bytes/token %.3f\n", (double)len / (double)n_tokens);
	else
		printf(" bytes/token n/a\n");
	return 0;
}

/* Tokenize one text and print one line. */
static int print_tokens(const struct eng_model *m, const char *text, size_t len, unsigned flags, bool pieces,
			struct mrl_err *err)
{
	int32_t *ids = NULL;
	size_t n = 0;
	int rc = eng_tokenize_flags(m, text, len, flags, &ids, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(' ', stdout);
		if (pieces) {
			const char *p = eng_token_piece(m, ids[i]);
			put_piece(p ? p : "", stdout);
		} else {
			printf("%d", ids[i]);
		}
	}
	fputc('\n', stdout);
	free(ids);
	return 0;
}

int hrn_cmd_tokenize(int argc, char **argv)
{
	const char *model_path = NULL, *file = NULL, *text_arg = NULL;
	bool no_bos = false, lines = false, pieces = false, parse_special = false, do_bench = false;
	const struct mrl_option options[] = {
		OPT_STRING('m', "model", &model_path, "M",
			   "a GGUF model, a vocabulary-only GGUF, an HF tokenizer.json or tokenizer.model, or\n"
			   "an HF folder (its tokenizer.json, else its tokenizer.model, and tokenizer_config.json)"),
		OPT_BOOL(0, "parse-special", &parse_special,
			 "control tokens written in the text (<|endoftext|>) become their ids\n"
			 "(as llama.cpp's parse_special; an HF folder's added tokens always match, as in HF)"),
		OPT_STRING(0, "file", &file, "F", "tokenize the whole file as one text (newlines included); '-' reads stdin"),
		OPT_BOOL(0, "lines", &lines, "tokenize each line on its own: one output line per input line"),
		OPT_BOOL(0, "pieces", &pieces,
			 "print the vocabulary pieces instead of ids (bytes < 0x20, space, 0x7f\n"
			 "and backslash are written as \\xHH)"),
		OPT_BOOL(0, "no-bos", &no_bos, "do not prepend BOS even if the model's metadata asks for it"),
		OPT_BOOL(0, "bench", &do_bench,
			 "time the tokenization of --file (one thread, best of 3; with --lines each line\n"
			 "is one call) and print bytes, tokens, seconds and MB/s instead of ids"),
		OPT_END(),
	};
	int n_args, rc = hrn_options("tokenize", options, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args > 1)
		return hrn_usage_error("tokenize", "one TEXT at a time (quote it): '%s' and '%s'", argv[0], argv[1]);
	text_arg = n_args ? argv[0] : NULL;
	if (!model_path)
		return hrn_usage_error("tokenize", "--model is required");
	if (file && text_arg)
		return hrn_usage_error("tokenize", "give either --file or a TEXT, not both");
	if (!file && !text_arg)
		return hrn_usage_error("tokenize", "nothing to tokenize: give --file FILE or a TEXT");
	if (do_bench && !file)
		return hrn_usage_error("tokenize", "--bench needs --file FILE");

	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	char *data = NULL;
	size_t len = 0;
	/* read the text first: a missing text file is reported before any model work */
	if (file) {
		rc = strcmp(file, "-") ? mrl_read_file(file, MAX_TEXT_BYTES, &data, &len, &err) : read_stdin(&data, &len, &err);
		if (rc)
			goto out;
	}
	struct eng_open_opts opts = { .vocab_only = true };
	if ((rc = eng_model_open(&m, model_path, &opts, &err)))
		goto out;
	hrn_print_model_warnings(m);
	struct eng_model_desc desc;
	eng_model_describe(m, &desc);
	unsigned flags = (desc.add_bos && !no_bos ? ENG_TOKENIZE_ADD_BOS : 0) |
			 (parse_special ? ENG_TOKENIZE_PARSE_SPECIAL : 0);
	const char *text = file ? data : text_arg;
	if (!file)
		len = strlen(text_arg);
	if (do_bench) {
		rc = bench(m, text, len, flags, lines, &err);
	} else if (!lines) {
		rc = print_tokens(m, text, len, flags, pieces, &err);
	} else {
		size_t pos = 0;
		while (pos < len && !rc) {
			const char *nl = memchr(text + pos, '\n', len - pos);
			size_t end = nl ? (size_t)(nl - text) : len;
			rc = print_tokens(m, text + pos, end - pos, flags, pieces, &err);
			pos = end + 1;
		}
	}
	/* standard output that could not be written: main's stdout_checked says so */
out:
	free(data);
	eng_model_close(m);
	return rc ? hrn_report(&err) : HRN_EXIT_OK;
}
