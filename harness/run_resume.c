/* run_resume.c — run.json's "options" and `merilo run --resume`: the options a run
 * folder records, restored where not given again and refused where given otherwise
 * (docs/evaluation.md, "Interrupting and resuming"). */
#include "harness/run_opts.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/hrn.h"
#include "records/record_json.h"
#include "records/run.h"

/* run.json's "options": every option that shapes the records or the aggregates
 * (a --resume restores them and refuses different ones), and batch (restored
 * when not given; it may change, the scores are identical). chat_template is
 * null where not given (the suite's, else auto). threads is the count the first
 * session ran, for a rerun's timings: it changes no score and is not restored;
 * quiet, out and db are left out (they change no record). */
json_t *hrn_run_options_json(const struct run_opts *o)
{
	/* fewshot null: not given (each task's own k); store_topk null without store_logprobs; paths
	 * that are not UTF-8 with U+FFFD for the bad bytes (they failed the whole run.json; a --resume
	 * then names the model and suite again) */
	json_t *j = json_pack("{s:o, s:o, s:o, s:o, s:I, s:s, s:I, s:o, s:I, s:b, s:o, s:s, s:s, s:o, s:s, s:o, s:I}",
			      "model", rec_json_string(o->model), "suite", rec_json_string(o->suite), "tasks", rec_json_string(o->tasks), "lang",
			      rec_json_string(o->langs), "limit", (json_int_t)o->limit, "bos", o->bos, "seed",
			      (json_int_t)o->seed, "fewshot", o->fewshot >= 0 ? json_integer(o->fewshot) : json_null(),
			      "boot", (json_int_t)o->boot, "store_logprobs", o->store_logprobs > 0, "store_topk",
			      o->store_logprobs > 0 ? json_integer(o->topk) : json_null(), "backend", o->backend, "batch",
			      o->batch, "shard", rec_json_string(o->shard), "kv_cache", o->kv_cache, "chat_template",
			      rec_json_string(o->chat_template), "threads", (json_int_t)o->threads);
	if (j && o->affinity)
		json_object_set_new(j, "affinity", json_true());
	if (j && o->lora)
		json_object_set_new(j, "lora", rec_json_string(o->lora));
	if (j && o->thinking)
		json_object_set_new(j, "thinking", json_string(o->thinking));
	if (j && o->thinking_budget >= 0)
		json_object_set_new(j, "thinking_budget", json_integer(o->thinking_budget));
	if (j && hrn_sample_given(o->sample)) /* only where given, as the next */
		json_object_set_new(j, "sample", hrn_sample_option_json(o->sample));
	if (j && o->chat_mc > 0) /* only where given: run.json's of earlier runs stay as they were */
		json_object_set_new(j, "chat_multiple_choice", json_true());
	return j;
}

/* The options run.json gained after its first version: restored when recorded
 * (a run.json without them predates them: nothing to restore or check; but
 * --chat-template, given to a run whose run.json names none, is refused: that
 * run had no template). */
static int merge_resumed_later(struct run_opts *o, const json_t *opt, const char *path)
{
	const json_t *boot = json_object_get(opt, "boot"), *lp = json_object_get(opt, "store_logprobs"),
		     *topk = json_object_get(opt, "store_topk");
	const char *backend = json_string_value(json_object_get(opt, "backend"));
	const char *batch = json_string_value(json_object_get(opt, "batch"));
	if (json_is_integer(boot)) {
		long r = (long)json_integer_value(boot);
		if (o->boot >= 0 && o->boot != r)
			return hrn_usage_error("run", "--boot %ld differs from the resumed run's %ld (%s)", o->boot, r, path);
		o->boot = r;
	}
	if (json_is_boolean(lp)) {
		if (o->store_logprobs > 0 && !json_is_true(lp))
			return hrn_usage_error("run", "--store-logprobs was not given to the resumed run (%s): its records "
					       "would be mixed", path);
		o->store_logprobs = json_is_true(lp) ? 1 : 0;
	}
	if (o->topk >= 0 && o->store_logprobs <= 0)
		return hrn_usage_error("run", "--store-topk needs --store-logprobs");
	if (json_is_integer(topk) && o->store_logprobs > 0) {
		long r = (long)json_integer_value(topk);
		if (o->topk >= 0 && o->topk != r)
			return hrn_usage_error("run", "--store-topk %ld differs from the resumed run's %ld (%s)", o->topk, r,
					       path);
		o->topk = r;
	}
	enum eng_backend be;
	if (backend && hrn_parse_backend(backend, &be)) {
		fprintf(stderr, "merilo: %s: not a merilo run.json (unknown backend '%s')\n", path, backend);
		return HRN_EXIT_INPUT;
	}
	if (backend) {
		if (o->backend && strcmp(o->backend, backend))
			return hrn_usage_error("run", "--backend %s differs from the resumed run's %s (%s); the backends' "
					       "scores agree within tolerance, not bit for bit", o->backend, backend, path);
		o->backend = backend;
	}
	if (batch && !o->batch)
		o->batch = batch;
	const char *shard = json_string_value(json_object_get(opt, "shard"));
	if (o->shard && (!shard || strcmp(o->shard, shard)))
		return hrn_usage_error("run", "--shard %s differs from the resumed run's %s (%s)", o->shard,
				       shard ? shard : "(none)", path);
	o->shard = shard ? shard : o->shard;
	const char *chat = json_string_value(json_object_get(opt, "chat_template"));
	if (o->chat_template && (!chat || strcmp(o->chat_template, chat))) /* null: the suite's, else auto */
		return hrn_usage_error("run", "--chat-template %s differs from the resumed run's %s (%s)", o->chat_template,
				       chat ? chat : "(not given)", path);
	o->chat_template = chat ? chat : o->chat_template;
	const char *think = json_string_value(json_object_get(opt, "thinking")); /* absent: before --thinking, off */
	if (o->thinking && strcmp(o->thinking, think ? think : "off"))
		return hrn_usage_error("run", "--thinking %s differs from the resumed run's %s (%s)", o->thinking,
				       think ? think : "off", path);
	o->thinking = think ? think : o->thinking;
	const bool mc = json_is_true(json_object_get(opt, "chat_multiple_choice"));
	if (o->chat_mc > 0 && !mc)
		return hrn_usage_error("run", "--chat-multiple-choice was not given to the resumed run (%s): its records "
				       "would be mixed", path);
	o->chat_mc = mc ? 1 : 0;
	const json_t *sample = json_object_get(opt, "sample"); /* absent: every item, or the first --limit */
	struct hrn_sample_spec ns = { 0 };
	char given[32], was[32] = "(not given)";
	if (sample && hrn_sample_from_option(sample, &ns)) {
		fprintf(stderr, "merilo: %s: not a merilo run.json (options.sample is not a count of items or a "
				"percentage)\n", path);
		return HRN_EXIT_INPUT;
	}
	if (hrn_sample_given(o->sample) && (o->sample.n != ns.n || o->sample.pct != ns.pct)) {
		if (hrn_sample_given(ns))
			hrn_sample_str(ns, was, sizeof was);
		return hrn_usage_error("run", "--sample %s differs from the resumed run's %s (%s)",
				       hrn_sample_str(o->sample, given, sizeof given), was, path);
	}
	o->sample = ns;
	const json_t *budget = json_object_get(opt, "thinking_budget");
	if (json_is_integer(budget)) {
		const long b = (long)json_integer_value(budget);
		if (o->thinking_budget >= 0 && o->thinking_budget != b)
			return hrn_usage_error("run", "--thinking-budget %ld differs from the resumed run's %ld (%s)",
					       o->thinking_budget, b, path);
		o->thinking_budget = b;
	}
	return 0;
}

int hrn_run_merge_resumed(struct run_opts *o, json_t **j)
{
	char path[4096];
	struct rec_run run;
	struct mrl_err err = { 0 };
	struct stat sb;
	*j = NULL;
	const bool exists = stat(o->resume, &sb) == 0;
	if (!exists || !S_ISDIR(sb.st_mode)) { /* rec_run_load would read a file's folder */
		fprintf(stderr, "merilo: %s: %s\n", o->resume,
			!exists ? "no such run folder to resume" : "not a run folder (--resume takes the folder a run wrote)");
		return HRN_EXIT_INPUT;
	}
	int lrc = rec_run_load(o->resume, REC_RUN_JSON, &run, &err);
	snprintf(path, sizeof path, "%s", run.json_path);
	*j = run.run_json; /* ours now */
	run.run_json = NULL;
	rec_run_release(&run);
	if (lrc) {
		fprintf(stderr, "merilo: cannot read the run to resume: %s\n", err.msg);
		return HRN_EXIT_INPUT;
	}
	json_t *opt = json_object_get(*j, "options");
	const char *m = json_string_value(json_object_get(opt, "model"));
	const char *s = json_string_value(json_object_get(opt, "suite"));
	const char *b = json_string_value(json_object_get(opt, "bos"));
	json_t *lim = json_object_get(opt, "limit"), *seed = json_object_get(opt, "seed"), *fs = json_object_get(opt, "fewshot");
	if (!json_is_object(opt) || !m || !s || !b || !json_is_integer(lim) || !json_is_integer(seed) ||
	    !(json_is_integer(fs) || json_is_null(fs))) { /* fewshot: -1 before it was null */
		fprintf(stderr, "merilo: %s: not a merilo run.json (options missing or of the wrong type)\n", path);
		return HRN_EXIT_INPUT;
	}
	const char *names[4] = { "--tasks", "--lang", "--bos", "--kv-cache" }; /* no kv_cache: older than it, f16 */
	const char **given[4] = { &o->tasks, &o->langs, &o->bos, &o->kv_cache };
	const char *rec[4] = { json_string_value(json_object_get(opt, "tasks")), json_string_value(json_object_get(opt, "lang")), b,
			       json_string_value(json_object_get(opt, "kv_cache")) };
	for (int k = 0; k < 4; k++) {
		if (!*given[k])
			*given[k] = rec[k];
		else if (!rec[k] || strcmp(*given[k], rec[k]))
			return hrn_usage_error("run", "%s %s differs from the resumed run's %s (%s)", names[k], *given[k],
					       rec[k] ? rec[k] : "(all)", path);
	}
	const char *nn[3] = { "--limit", "--seed", "--fewshot" };
	long *nv[3] = { &o->limit, &o->seed, &o->fewshot };
	json_t *nr[3] = { lim, seed, fs };
	for (int k = 0; k < 3; k++) {
		long r = json_is_null(nr[k]) ? -1 : (long)json_integer_value(nr[k]);
		char was[32] = "(not given)";
		if (r >= 0)
			snprintf(was, sizeof was, "%ld", r);
		if (*nv[k] >= 0 && *nv[k] != r)
			return hrn_usage_error("run", "%s %ld differs from the resumed run's %s (%s)", nn[k], *nv[k], was, path);
		*nv[k] = r;
	}
	int rc = merge_resumed_later(o, opt, path);
	if (rc)
		return rc;
	/* the model and suite may be given again (e.g. moved); their contents are checked by hash */
	if (!o->model)
		o->model = m;
	if (!o->lora) /* an adapter given again may have moved too; the model's hash covers its files */
		o->lora = json_string_value(json_object_get(opt, "lora"));
	if (!o->suite)
		o->suite = s;
	o->out = o->resume;
	return 0;
}

