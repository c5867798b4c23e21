/* manifest.h — collecting a run's manifest on this machine (build, host,
 * model and suite hashes through the SHA-256 cache). The record itself and its
 * JSON live in records/manifest.h.
 */
#ifndef MRL_HRN_MANIFEST_H
#define MRL_HRN_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "records/manifest.h"

/* Fill m (zeroed first; release it with rec_manifest_release even on failure):
 * build info, host info, started_utc = now, and for a non-NULL model_path /
 * suite_path their size and SHA-256 (through the hash cache, see
 * hrn_sha256_file_cached; a model folder: hrn_manifest_model). settings (may be NULL) is deep-copied.
 * Host facts that cannot be read are left NULL with a reason, never an error;
 * a missing or unreadable model/suite is an error (MRL_EIO) naming the path. */
int hrn_manifest_collect(struct rec_manifest *m, const char *model_path, const char *suite_path,
			 const json_t *settings, struct mrl_err *err);

/* The SHA-256 that names a model in a manifest: a GGUF file's own (through the
 * cache, hrn_sha256_file_cached); for a model opened from an HF folder (model not
 * NULL, eng_model_folder_file), the digest of the folder's sha256sum listing: sha256
 * of "HEX  NAME\n" for each file the model was read from, names sorted, i.e.
 * `cd DIR && sha256sum FILES | sha256sum`. *size (may be NULL): the bytes hashed.
 * Returns 0 or MRL_EIO naming the file. */
struct eng_model;
int hrn_model_sha256(const char *path, const struct eng_model *model, char hex[65], uint64_t *size,
		     struct mrl_err *err);

/* m's model path, SHA-256 (hrn_model_sha256) and size for the model at path;
 * without its opened model, an HF folder, or any model with the LoRA adapter lora
 * (or NULL), is opened to learn its files. */
int hrn_manifest_model(struct rec_manifest *m, const char *path, const struct eng_model *model, const char *lora,
		       struct mrl_err *err);

/* m's model_path / suite_path as typed and model_abs_path / suite_abs_path, their
 * realpath now (NULL where it does not resolve); a NULL path leaves both alone.
 * Returns 0 or MRL_ENOMEM. */
int hrn_manifest_paths(struct rec_manifest *m, const char *model_path, const char *suite_path, struct mrl_err *err);

/* The command line of a subcommand as records keep it (the manifest's and run.json's
 * "argv"): a new JSON array ["merilo", argv[0], ..., argv[argc - 1]], where argv is
 * what the command table passes (argv[0] is the subcommand's name). Take it before
 * the options are parsed (parsing reorders argv). NULL when out of memory. */
json_t *hrn_invocation_json(int argc, char *const *argv);

/* SHA-256 of a file through a cache keyed by (absolute path, size, mtime in ns,
 * inode, device), kept in <cache dir>/sha256.tsv where <cache dir> is
 * $MERILO_CACHE_DIR, else $XDG_CACHE_HOME/merilo, else $HOME/.cache/merilo.
 * A miss, a stale entry or a corrupt cache file just recomputes (1 MiB chunks)
 * and rewrites the cache atomically; failing to write the cache is not an error.
 * *size_out and *from_cache (either may be NULL) report the file size and
 * whether the cache answered. Returns 0 or MRL_EIO naming the path. */
int hrn_sha256_file_cached(const char *path, char hex[65], uint64_t *size_out, bool *from_cache,
			   struct mrl_err *err);

/* The same cache for bytes already in memory (a mapped model): lookup returns 1
 * and fills hex when the cache holds path with the size, mtime, inode and device
 * of st; store records hex under that key (best effort, failures are ignored).
 * The caller hashes on a miss, and stores only if the file did not change. */
struct stat;
int hrn_sha256_cache_lookup(const char *path, const struct stat *st, char hex[65]);
void hrn_sha256_cache_store(const char *path, const struct stat *st, const char hex[65]);

/* The cache directory that hrn_sha256_file_cached uses, into buf. Returns 0, or
 * -1 when none can be determined (no MERILO_CACHE_DIR, XDG_CACHE_HOME or HOME). */
int hrn_cache_dir(char *buf, size_t buf_size);

#endif
