/* hrn_json_docs.c — every key of the machine-readable outputs is named in the docs.
 *
 * `merilo perplexity --json` (its key table: docs/evaluation.md) and `merilo bench
 * --format json` / `jsonl` (docs/measurement.md, "The JSON record: every key") had keys
 * that no page named (n_scored, scored_bytes, model_load_s; bandwidth_utilization,
 * e2e_ms, n_params, settings.energy_window_s, ...). The test runs the commands on a
 * small `merilo synth` model, walks every key path of what they print (objects
 * recursively; an array's objects as one path, `results[]`), and looks each key up.
 *
 * The rule: a key NAME is named when its page holds it in backticks as a whole part of
 * a path: alone (`NAME`), or first, within or last in a dotted path (`NAME.version`,
 * `results[].NAME.unit`, `.NAME`, `NAME[]`); that is, the page holds NAME between one of
 * "`" and "." before it and one of "`", "." and "[" after it. The keys
 * under `manifest` are looked up in docs/results-format.md (the manifest's
 * specification), except `manifest.settings`, which holds the command's own options
 * and is looked up in the command's page. A map keyed by name (a bench result's
 * `series` and `figures`) is walked as any object: a new series or figure name must be
 * named too. Runs the binary named by $MERILO (set by `make test`), with the host
 * pinned (cli_pin_host) so the run is the same everywhere; it needs no fixtures.
 */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];

/* What one walk found: the keys looked up (each path once) and those not named. */
struct walk {
	const char *doc_path, *doc;          /* the command's page */
	const char *manifest_path, *manifest; /* docs/results-format.md */
	size_t n_keys;
	char **seen;  /* paths already looked up (an array's objects repeat them), and
		       * "\nPAGE\nNAME" for each name already told missing */
	size_t n_seen, cap_seen;
	size_t n_missing;
};

/* Whether doc holds name as a whole part of a path in backticks (the rule above). */
static bool doc_names(const char *doc, const char *name)
{
	static const char before[] = "`.", after[] = "`.[";
	for (const char *b = before; *b; b++)
		for (const char *a = after; *a; a++) {
			char pattern[160];
			if (snprintf(pattern, sizeof pattern, "%c%s%c", *b, name, *a) < (int)sizeof pattern &&
			    strstr(doc, pattern))
				return true;
		}
	return false;
}

/* Whether path was looked up before (and remember it if not). */
static bool seen_before(struct walk *w, const char *path)
{
	for (size_t i = 0; i < w->n_seen; i++)
		if (!strcmp(w->seen[i], path))
			return true;
	if (w->n_seen == w->cap_seen) {
		size_t cap = w->cap_seen ? 2 * w->cap_seen : 64;
		char **grown = realloc(w->seen, cap * sizeof *grown);
		if (!grown)
			return false;
		w->seen = grown;
		w->cap_seen = cap;
	}
	w->seen[w->n_seen] = strdup(path);
	if (w->seen[w->n_seen])
		w->n_seen++;
	return false;
}

/* The page a key at path is looked up in: the manifest's, or the command's. */
static bool in_manifest_page(const char *path)
{
	return !strncmp(path, "manifest.", 9) && strncmp(path, "manifest.settings.", 18);
}

static void walk_value(struct walk *w, const json_t *v, const char *path);

static void walk_object(struct walk *w, const json_t *o, const char *path)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		char child[512];
		if (snprintf(child, sizeof child, "%s%s%s", path, *path ? "." : "", key) >= (int)sizeof child)
			continue; /* no output nests that deep */
		if (!seen_before(w, child)) {
			w->n_keys++;
			const bool man = in_manifest_page(child);
			char once[600]; /* a name missing from a page is told once, at its first path */
			snprintf(once, sizeof once, "\n%s\n%s", man ? w->manifest_path : w->doc_path, key);
			if (!doc_names(man ? w->manifest : w->doc, key)) {
				w->n_missing++;
				if (!seen_before(w, once))
					diag("%s: key `%s` is not named in %s", child, key, man ? w->manifest_path : w->doc_path);
			}
		}
		walk_value(w, v, child);
	}
}

static void walk_value(struct walk *w, const json_t *v, const char *path)
{
	if (json_is_object(v)) {
		walk_object(w, v, path);
	} else if (json_is_array(v)) {
		char elems[512];
		if (snprintf(elems, sizeof elems, "%s[]", path) >= (int)sizeof elems)
			return;
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			walk_value(w, x, elems);
	}
}

/* Walk the JSON documents (n of them, all of one command) against doc_path; check that
 * at least min_keys distinct keys were found and that none was unnamed. */
static void check_keys(const char *what, json_t **docs, size_t n, const char *doc_path, size_t min_keys)
{
	char *doc = cli_slurp(doc_path), *manifest = cli_slurp("docs/results-format.md");
	ok(doc && manifest, "the pages can be read (the test runs from the repository root)");
	struct walk w = { .doc_path = doc_path, .doc = doc ? doc : "", .manifest_path = "docs/results-format.md",
			  .manifest = manifest ? manifest : "" };
	for (size_t i = 0; i < n; i++)
		walk_value(&w, docs[i], "");
	char name[256];
	snprintf(name, sizeof name, "%s: at least %zu keys walked", what, min_keys);
	ok(w.n_keys >= min_keys, name);
	if (w.n_keys < min_keys)
		diag("  walked %zu", w.n_keys);
	snprintf(name, sizeof name, "%s: every key is named in %s (or the manifest's in results-format.md)", what,
		 doc_path);
	is_int(w.n_missing, 0, name);
	for (size_t i = 0; i < w.n_seen; i++)
		free(w.seen[i]);
	free(w.seen);
	free(doc);
	free(manifest);
}

/* The JSON of a merilo command's stdout (stderr to /dev/null), or NULL with a diagnostic. */
static json_t *run_json(const char *what, const char *args)
{
	char *out = NULL;
	int rc = cli_run(&out, "%s 2>/dev/null", args);
	json_error_t e;
	json_t *j = rc == 0 && out ? json_loads(out, JSON_REJECT_DUPLICATES, &e) : NULL;
	char name[200];
	snprintf(name, sizeof name, "%s: exit 0 and one JSON object", what);
	ok(json_is_object(j), name);
	if (!json_is_object(j))
		diag("exit %d; %s", rc, out ? out : "(no output)");
	free(out);
	return j;
}

/* The first line of a JSONL file as JSON, or NULL with a diagnostic. */
static json_t *first_line(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, JSON_DISABLE_EOF_CHECK, &e);
	ok(json_is_object(j), "bench --format jsonl: the first line is a JSON object");
	if (!j)
		diag("%s: %s", path, e.text);
	return j;
}

static void t_perplexity(const char *model)
{
	char text[300], args[800];
	snprintf(text, sizeof text, "%s/text.txt", tmp);
	ok(!cli_write_file(text, "Zdravo svete. Hello world, this is a short text for perplexity. Ovo je kratak "
				 "tekst, a ovo je jos jedna recenica da bude dovoljno tokena.\n"),
	   "the text is written");
	snprintf(args, sizeof args, "perplexity -m %s --file %s --ctx 8 --json", model, text);
	json_t *j = run_json("perplexity --json", args);
	if (j)
		check_keys("perplexity --json", &j, 1, "docs/evaluation.md", 25);
	json_decref(j);
}

static void t_bench(const char *model)
{
	/* the plain tests without and with a roofline (present: its figures; absent: its
	 * reason), the two scenarios with limits, and a jsonl line (`result`) */
	const char *runs[] = {
		"-p 8 -n 4 -r 2 --warmup 0 -t 1 --affinity --format json",
		"-p 8 -n 4 -r 2 --warmup 0 -t 1 --roofline --roofline-buffer-mib 16 --format json",
		"-p 8 -n 4 -r 1 --warmup 0 --scenario offline --requests 2 --ttft-limit 1000 --format json",
		"-p 8 -n 4 -r 1 --warmup 0 --scenario server --qps 40 --duration 0.1 --tpot-limit 1000 --format json",
	};
	const size_t n_runs = sizeof runs / sizeof runs[0];
	json_t *docs[sizeof runs / sizeof runs[0] + 1] = { 0 };
	size_t n = 0;
	for (size_t i = 0; i < n_runs; i++) {
		char args[600];
		snprintf(args, sizeof args, "bench -m %s %s", model, runs[i]);
		if ((docs[n] = run_json(runs[i], args)))
			n++;
	}
	char jsonl[300], *out = NULL;
	snprintf(jsonl, sizeof jsonl, "%s/bench.jsonl", tmp);
	int rc = cli_run(&out, "bench -m %s -p 8 -n 4 -r 1 --warmup 0 -t 1 -q -o %s", model, jsonl);
	is_int(rc, 0, "bench -o FILE.jsonl: exit 0");
	free(out);
	if (!rc && (docs[n] = first_line(jsonl)))
		n++;
	if (n == n_runs + 1)
		check_keys("bench --format json and jsonl", docs, n, "docs/measurement.md", 150);
	for (size_t i = 0; i < n; i++)
		json_decref(docs[i]);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "jsondocs")) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	char cache[300], model[300], *out = NULL;
	snprintf(cache, sizeof cache, "%s/cache", tmp);
	snprintf(model, sizeof model, "%s/small.gguf", tmp);
	/* no energy source, NVML, CUDA or PAPI library: the same keys on every host */
	cli_pin_host(cache, true);
	int rc = cli_run(&out, "synth " CLI_SYNTH_SMALL " --seed 1 -o %s", model);
	is_int(rc, 0, "merilo synth: a small model");
	free(out);
	if (!rc) {
		TEST(t_perplexity(model), "perplexity --json: every key is named in docs/evaluation.md");
		TEST(t_bench(model), "bench --format json/jsonl: every key is named in docs/measurement.md");
	}
	cli_rmtree(tmp);
	return done_testing();
}
