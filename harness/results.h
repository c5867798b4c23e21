/* results.h — forwarding header while the run record moves to records/:
 * results.json (records/results.h), items.jsonl (records/item.h, items.h,
 * item_writer.h, done_set.h), the manifest (records/manifest.h, collected by
 * harness/manifest.h) and the typed JSON getters (common/json.h), which kept
 * their old names here for the readers not yet switched over.
 * The records' names moved from hrn_ to rec_; the old names below map onto
 * the new ones until every caller uses them. New code includes the records/
 * headers directly and uses the rec_ names.
 */
#ifndef MRL_HRN_RESULTS_H
#define MRL_HRN_RESULTS_H

#include "common/json.h"
#include "harness/manifest.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/manifest.h"
#include "records/record_json.h"
#include "records/results.h"

enum { HRN_J_REQUIRED = MRL_JSON_REQUIRED, HRN_J_OPTIONAL = MRL_JSON_OPTIONAL, HRN_J_NULLABLE = MRL_JSON_NULLABLE };
#define hrn_json_get_str mrl_json_get_str
#define hrn_json_get_int mrl_json_get_int
#define hrn_json_get_real mrl_json_get_real
#define hrn_json_get_bool mrl_json_get_bool
#define hrn_json_get_object mrl_json_get_object
#define hrn_json_get_array mrl_json_get_array


/* the record names before the move to records/ */
#define HRN_ITEMS_MAX_LINE_BYTES REC_ITEMS_MAX_LINE_BYTES
#define HRN_ITEMS_SCHEMA_VERSION REC_ITEMS_SCHEMA_VERSION
#define HRN_MANIFEST_SCHEMA_VERSION REC_MANIFEST_SCHEMA_VERSION
#define HRN_RESULTS_MAX_BYTES REC_RESULTS_MAX_BYTES
#define HRN_RESULTS_SCHEMA_VERSION REC_RESULTS_SCHEMA_VERSION
#define hrn_aggregate rec_aggregate
#define hrn_aggregate_add_metric rec_aggregate_add_metric
#define hrn_choice_score rec_choice_score
#define hrn_comparison rec_comparison
#define hrn_done_set rec_done_set
#define hrn_done_set_add rec_done_set_add
#define hrn_done_set_count rec_done_set_count
#define hrn_done_set_free rec_done_set_free
#define hrn_done_set_has rec_done_set_has
#define hrn_done_set_new rec_done_set_new
#define hrn_engine_info rec_engine_info
#define hrn_item rec_item
#define hrn_item_add_choice rec_item_add_choice
#define hrn_item_add_metric rec_item_add_metric
#define hrn_item_add_timing rec_item_add_timing
#define hrn_item_from_json rec_item_from_json
#define hrn_item_init rec_item_init
#define hrn_item_logprobs rec_item_logprobs
#define hrn_item_metric rec_item_metric
#define hrn_item_release rec_item_release
#define hrn_item_set_gold_text rec_item_set_gold_text
#define hrn_item_set_logprobs rec_item_set_logprobs
#define hrn_item_set_prompt rec_item_set_prompt
#define hrn_item_to_json rec_item_to_json
#define hrn_item_writer rec_item_writer
#define hrn_item_writer_add rec_item_writer_add
#define hrn_item_writer_close rec_item_writer_close
#define hrn_item_writer_flush rec_item_writer_flush
#define hrn_item_writer_n_added rec_item_writer_n_added
#define hrn_item_writer_n_dropped rec_item_writer_n_dropped
#define hrn_item_writer_n_flushed rec_item_writer_n_flushed
#define hrn_item_writer_open rec_item_writer_open
#define hrn_item_writer_opts rec_item_writer_opts
#define hrn_items rec_items
#define hrn_items_read rec_items_read
#define hrn_items_read_lenient rec_items_read_lenient
#define hrn_items_reject rec_items_reject
#define hrn_items_release rec_items_release
#define hrn_json_count rec_json_count
#define hrn_json_real rec_json_real
#define hrn_json_string rec_json_string
#define hrn_manifest rec_manifest
#define hrn_manifest_finish rec_manifest_finish
#define hrn_manifest_from_json rec_manifest_from_json
#define hrn_manifest_init rec_manifest_init
#define hrn_manifest_release rec_manifest_release
#define hrn_manifest_to_json rec_manifest_to_json
#define hrn_metric_value rec_metric_value
#define hrn_model_info rec_model_info
#define hrn_perf_lang rec_perf_lang
#define hrn_perf_task rec_perf_task
#define hrn_perf_task_add_lang rec_perf_task_add_lang
#define hrn_perf_window rec_perf_window
#define hrn_reading rec_reading
#define hrn_reading_release rec_reading_release
#define hrn_reading_set rec_reading_set
#define hrn_readings_add rec_readings_add
#define hrn_rejected_line rec_rejected_line
#define hrn_results rec_results
#define hrn_results_add_aggregate rec_results_add_aggregate
#define hrn_results_add_comparison rec_results_add_comparison
#define hrn_results_add_perf rec_results_add_perf
#define hrn_results_from_json rec_results_from_json
#define hrn_results_init rec_results_init
#define hrn_results_read rec_results_read
#define hrn_results_release rec_results_release
#define hrn_results_to_json rec_results_to_json
#define hrn_results_write rec_results_write
#define hrn_settings rec_settings
#define hrn_settings_to_json rec_settings_to_json
#define hrn_strlist_add rec_strlist_add
#define hrn_suite_info rec_suite_info
#define hrn_timing rec_timing
#define hrn_token_logprobs rec_token_logprobs
#define hrn_token_logprobs_free rec_token_logprobs_free
#define hrn_token_logprobs_from_json rec_token_logprobs_from_json
#define hrn_token_logprobs_to_json rec_token_logprobs_to_json
#define hrn_utc_now_iso8601 rec_utc_now_iso8601

#endif
