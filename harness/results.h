/* results.h — forwarding header while the run record moves to records/:
 * results.json (records/results.h), items.jsonl (records/item.h, items.h,
 * item_writer.h, done_set.h), the manifest (records/manifest.h, collected by
 * harness/manifest.h) and the typed JSON getters (common/json.h), which kept
 * their old names here for the readers not yet switched over.
 * New code includes the records/ headers directly.
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

#endif
