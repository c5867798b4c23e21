/* manifest.c — the run manifest: build, host, input hashes, settings, UTC times.
 *
 * A result means little without knowing which build ran it, on what machine,
 * on exactly which model and suite bytes, with which settings and seeds. The
 * manifest collects those facts once per run. Host facts come from /proc and
 * uname; anything that cannot be found is recorded as null with a reason,
 * never guessed. Model files are large, so their SHA-256 goes through a small
 * cache (sha256.tsv) keyed by path, size, mtime, inode and device: a cache
 * that is missing, stale or corrupt only costs a recomputation.
 */
#include "harness/manifest.h"

#include "common/fileio.h"
#include "common/sha256.h"
#include "engine/eng.h"
#include "harness/hrn.h"
#include "records/record_json.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define PROC_FILE_MAX ((size_t)4 << 20)
#define CACHE_FILE_MAX ((size_t)16 << 20)
#define CACHE_MAX_ENTRIES 1000

/* --------------------------------------------------------------- host */

/* Value of the first "key<spaces/tabs>: value" line in text, trimmed; new string or NULL. */
static char *proc_field(const char *text, const char *key)
{
	size_t key_len = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, key_len))
			continue;
		const char *p = line + key_len;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ':')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		return strndup(p, n);
	}
	return NULL;
}

static void host_cpu(struct rec_manifest *m)
{
	char *text = NULL, kernels[128];
	struct mrl_err err = { 0 };
	eng_cpu_kernels(kernels, sizeof kernels);
	m->cpu_kernels = strdup(kernels);
	if (mrl_read_file("/proc/cpuinfo", PROC_FILE_MAX, &text, NULL, &err)) {
		m->cpu_model_null_reason = strdup(err.msg);
		return;
	}
	/* x86: "model name"; some ARM kernels: "Hardware" or "Processor" */
	static const char *const keys[] = { "model name", "Hardware", "Processor", "cpu model" };
	for (size_t i = 0; !m->cpu_model && i < sizeof keys / sizeof keys[0]; i++)
		m->cpu_model = proc_field(text, keys[i]);
	if (!m->cpu_model)
		m->cpu_model_null_reason = strdup("no 'model name' line in /proc/cpuinfo");
	free(text);
}

static void host_memory(struct rec_manifest *m)
{
	char *text = NULL;
	if (mrl_read_file("/proc/meminfo", PROC_FILE_MAX, &text, NULL, NULL) == 0) {
		char *kb = proc_field(text, "MemTotal");
		long long v;
		if (kb && sscanf(kb, "%lld kB", &v) == 1 && v > 0)
			m->mem_total_bytes = v * 1024;
		free(kb);
		free(text);
	}
	if (m->mem_total_bytes < 0) {
		long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
		if (pages > 0 && page > 0)
			m->mem_total_bytes = (int64_t)pages * page;
	}
}

/* The first word of s that starts with a digit and contains a dot ("535.104.05"). */
static char *version_token(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p) || (p > s && !isspace((unsigned char)p[-1])))
			continue;
		size_t n = strcspn(p, " \t\n");
		if (memchr(p, '.', n))
			return strndup(p, n);
	}
	return NULL;
}

static void host_gpu(struct rec_manifest *m)
{
	struct stat st;
	if (stat("/proc/driver/nvidia", &st) || !S_ISDIR(st.st_mode)) {
		m->gpu_null_reason = strdup("no NVIDIA driver (/proc/driver/nvidia absent)");
		return;
	}
	char *text = NULL;
	if (mrl_read_file("/proc/driver/nvidia/version", PROC_FILE_MAX, &text, NULL, NULL) == 0) {
		/* "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..." */
		char *nvrm = proc_field(text, "NVRM version");
		if (nvrm)
			m->gpu_driver = version_token(nvrm);
		free(nvrm);
		free(text);
	}
	DIR *d = opendir("/proc/driver/nvidia/gpus");
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		m->gpu_count++;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "/proc/driver/nvidia/gpus/%s/information", e->d_name);
		if (!m->gpu_name && mrl_read_file(path, PROC_FILE_MAX, &text, NULL, NULL) == 0) {
			m->gpu_name = proc_field(text, "Model");
			free(text);
		}
	}
	if (d)
		closedir(d);
	if (!m->gpu_name)
		m->gpu_null_reason = strdup(m->gpu_count ? "GPU model not found in /proc/driver/nvidia/gpus/*/information"
							 : "NVIDIA driver loaded but no GPU listed in /proc/driver/nvidia/gpus");
}

static int host_collect(struct rec_manifest *m)
{
	struct utsname u;
	host_cpu(m);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	m->logical_cores = n > 0 ? n : -1;
	host_memory(m);
	if (uname(&u) == 0) {
		size_t len = strlen(u.sysname) + strlen(u.release) + strlen(u.version) + 3;
		if ((m->kernel = malloc(len)))
			snprintf(m->kernel, len, "%s %s %s", u.sysname, u.release, u.version);
		m->machine = strdup(u.machine);
		m->hostname = strdup(u.nodename);
	}
	host_gpu(m);
	return 0;
}

/* -------------------------------------------------------- sha256 cache */

int hrn_cache_dir(char *buf, size_t buf_size)
{
	const char *env = getenv("MERILO_CACHE_DIR");
	int n;
	if (env && *env)
		n = snprintf(buf, buf_size, "%s", env);
	else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
		n = snprintf(buf, buf_size, "%s/merilo", env);
	else if ((env = getenv("HOME")) && *env)
		n = snprintf(buf, buf_size, "%s/.cache/merilo", env);
	else
		return -1;
	return n < 0 || (size_t)n >= buf_size ? -1 : 0;
}

/* mkdir -p with mode 0755; returns 0 when dir exists afterwards. */
static int make_dirs(const char *dir)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

struct cache_key {
	char path[PATH_MAX];
	uint64_t size, mtime_ns, inode, dev;
};

static void key_of(const struct stat *st, struct cache_key *k)
{
	k->size = (uint64_t)st->st_size;
	k->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
	k->inode = (uint64_t)st->st_ino;
	k->dev = (uint64_t)st->st_dev;
}

/* Parse one cache line "sha\tsize\tmtime_ns\tinode\tdev\tpath" (NUL-terminated,
 * no newline). Returns 1 when well formed, with hex and the key filled. */
static int parse_cache_line(const char *line, char hex[65], struct cache_key *k)
{
	unsigned long long size, mtime, ino, dev;
	int off = 0;
	if (sscanf(line, "%64[0-9a-f]\t%llu\t%llu\t%llu\t%llu\t%n", hex, &size, &mtime, &ino, &dev, &off) != 5 ||
	    strlen(hex) != 64 || off <= 0 || !line[off] || strlen(line + off) >= sizeof k->path)
		return 0;
	k->size = size;
	k->mtime_ns = mtime;
	k->inode = ino;
	k->dev = dev;
	strcpy(k->path, line + off);
	return 1;
}

/* Look key up in the cache text; copies the hash into hex and returns 1 on a hit. */
static int cache_lookup(char *text, const struct cache_key *want, char hex[65])
{
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		struct cache_key k;
		char h[65];
		int hit = parse_cache_line(line, h, &k) && !strcmp(k.path, want->path) && k.size == want->size &&
			  k.mtime_ns == want->mtime_ns && k.inode == want->inode && k.dev == want->dev;
		if (next)
			next[-1] = '\n';
		if (hit) {
			memcpy(hex, h, 65);
			return 1;
		}
	}
	return 0;
}

/* Rewrite the cache with this entry replacing any other for the same path;
 * malformed lines are dropped, and only the newest CACHE_MAX_ENTRIES kept. */
static void cache_store(const char *cache_path, const char *old_text, const struct cache_key *k, const char *hex)
{
	size_t old_len = old_text ? strlen(old_text) : 0;
	size_t cap = old_len + strlen(k->path) + 200;
	char *out = malloc(cap), *copy = old_text ? strdup(old_text) : NULL;
	size_t len = 0, n_lines = 0;
	if (!out || (old_text && !copy))
		goto out;
	/* count good lines first, to keep only the newest ones */
	for (int pass = 0; pass < 2; pass++) {
		size_t seen = 0;
		for (char *line = copy, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next = '\0';
			struct cache_key other;
			char h[65];
			int keep = parse_cache_line(line, h, &other) && strcmp(other.path, k->path);
			if (keep && pass == 0)
				n_lines++;
			else if (keep && seen++ + CACHE_MAX_ENTRIES >= n_lines + 1)
				len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
			if (next)
				*next++ = '\n';
		}
	}
	len += (size_t)snprintf(out + len, cap - len, "%s\t%llu\t%llu\t%llu\t%llu\t%s\n", hex,
				(unsigned long long)k->size, (unsigned long long)k->mtime_ns,
				(unsigned long long)k->inode, (unsigned long long)k->dev, k->path);
	mrl_write_file_atomic(cache_path, out, len, NULL); /* best effort: a cache */
out:
	free(out);
	free(copy);
}

/* The cache file's path and key for a file of fstat st at path; 0 when cacheable
 * (paths with tabs or newlines would break the TSV: those are never cached). */
static int cache_locate(const char *path, const struct stat *st, char dir[PATH_MAX], char cache_path[PATH_MAX + 16],
			struct cache_key *key)
{
	key_of(st, key);
	if (!realpath(path, key->path) || strpbrk(key->path, "\t\n") || hrn_cache_dir(dir, PATH_MAX))
		return -1;
	snprintf(cache_path, PATH_MAX + 16, "%s/sha256.tsv", dir);
	return 0;
}

int hrn_sha256_cache_lookup(const char *path, const struct stat *st, char hex[65])
{
	char dir[PATH_MAX], cache_path[PATH_MAX + 16], *text = NULL;
	struct cache_key key;
	if (cache_locate(path, st, dir, cache_path, &key) || mrl_read_file(cache_path, CACHE_FILE_MAX, &text, NULL, NULL))
		return 0;
	int hit = cache_lookup(text, &key, hex);
	free(text);
	return hit;
}

void hrn_sha256_cache_store(const char *path, const struct stat *st, const char hex[65])
{
	char dir[PATH_MAX], cache_path[PATH_MAX + 16], *text = NULL;
	struct cache_key key;
	if (cache_locate(path, st, dir, cache_path, &key) || make_dirs(dir))
		return;
	if (mrl_read_file(cache_path, CACHE_FILE_MAX, &text, NULL, NULL))
		text = NULL;
	cache_store(cache_path, text, &key, hex);
	free(text);
}

int hrn_sha256_file_cached(const char *path, char hex[65], uint64_t *size_out, bool *from_cache,
			   struct mrl_err *err)
{
	char why[160];
	struct stat before, after;
	if (from_cache)
		*from_cache = false;
	if (stat(path, &before))
		return mrl_err_set(err, MRL_EIO, "%s: cannot stat: %s", path, mrl_io_strerror(errno, why, sizeof why));
	if (!S_ISREG(before.st_mode))
		return mrl_err_set(err, MRL_EIO, "%s: not a regular file", path);
	if (hrn_sha256_cache_lookup(path, &before, hex)) {
		if (from_cache)
			*from_cache = true;
		if (size_out)
			*size_out = (uint64_t)before.st_size;
		return 0;
	}
	uint64_t hashed = 0;
	int rc = mrl_sha256_file(path, hex, &hashed, err);
	if (rc)
		return rc;
	if (size_out)
		*size_out = hashed;
	/* a file that changed while we read it must not be cached under the old key */
	if (stat(path, &after) == 0 && after.st_size == before.st_size && after.st_ino == before.st_ino &&
	    after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
	    hashed == (uint64_t)before.st_size)
		hrn_sha256_cache_store(path, &before, hex);
	return 0;
}

/* One line "HEX  LABEL\n" of a sha256sum listing into ctx, for file; its size added to *total. */
static int listing_add(struct mrl_sha256 *ctx, const char *file, const char *label, uint64_t *total,
		       struct mrl_err *err)
{
	char fhex[65];
	uint64_t fsize = 0;
	int rc = hrn_sha256_file_cached(file, fhex, &fsize, NULL, err);
	if (rc)
		return rc;
	mrl_sha256_update(ctx, fhex, 64);
	mrl_sha256_update(ctx, "  ", 2);
	mrl_sha256_update(ctx, label, strlen(label));
	mrl_sha256_update(ctx, "\n", 1);
	*total += fsize;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int hrn_model_sha256(const char *path, const struct eng_model *model, char hex[65], uint64_t *size,
		     struct mrl_err *err)
{
	const bool folder = model && eng_model_folder_file(model, 0), adapter = model && eng_model_adapter_file(model, 0);
	if (!folder && !adapter)
		return hrn_sha256_file_cached(path, hex, size, NULL, err);
	/* the folder's files (a GGUF: the file, by its name), then a LoRA adapter's as "adapter/NAME":
	 * another adapter is another model */
	struct mrl_sha256 ctx;
	mrl_sha256_init(&ctx);
	uint64_t total = 0;
	char file[PATH_MAX + 256], label[300];
	const char *name;
	int rc = folder ? 0 : listing_add(&ctx, path, base_name(path), &total, err);
	for (size_t i = 0; !rc && folder && (name = eng_model_folder_file(model, i)); i++) {
		snprintf(file, sizeof file, "%s/%s", path, name);
		rc = listing_add(&ctx, file, name, &total, err);
	}
	for (size_t i = 0; !rc && (name = eng_model_adapter_file(model, i)); i++) {
		snprintf(label, sizeof label, "adapter/%s", base_name(name));
		rc = listing_add(&ctx, name, label, &total, err);
	}
	if (rc)
		return rc;
	uint8_t dg[MRL_SHA256_DIGEST_LEN];
	mrl_sha256_final(&ctx, dg);
	mrl_sha256_hex(dg, hex);
	if (size)
		*size = total;
	return 0;
}

int hrn_manifest_model(struct rec_manifest *m, const char *path, const struct eng_model *model, const char *lora,
		       struct mrl_err *err)
{
	char hex[65];
	uint64_t size = 0;
	int rc;
	if (!model && (hrn_is_folder(path) || lora)) { /* the files the engine reads: a folder's, an adapter's */
		struct eng_open_opts eo = { .n_threads = 1, .backend = ENG_BACKEND_CPU, .lora = lora };
		struct eng_model *opened = NULL;
		if (!(rc = eng_model_open(&opened, path, &eo, err)))
			rc = hrn_model_sha256(path, opened, hex, &size, err);
		eng_model_close(opened);
	} else {
		rc = hrn_model_sha256(path, model, hex, &size, err);
	}
	if (rc)
		return rc;
	free(m->model_sha256);
	if (!(m->model_sha256 = strdup(hex)))
		return mrl_err_set(err, MRL_ENOMEM, "manifest: out of memory");
	m->model_size_bytes = (int64_t)size;
	return hrn_manifest_paths(m, path, NULL, err);
}

/* realpath(path) as a new string; NULL where it does not resolve (or out of memory). */
static char *abs_path(const char *path)
{
	char buf[PATH_MAX];
	return realpath(path, buf) ? strdup(buf) : NULL;
}

int hrn_manifest_paths(struct rec_manifest *m, const char *model_path, const char *suite_path, struct mrl_err *err)
{
	const char *paths[2] = { model_path, suite_path };
	char **typed[2] = { &m->model_path, &m->suite_path }, **resolved[2] = { &m->model_abs_path, &m->suite_abs_path };
	for (int k = 0; k < 2; k++) {
		if (!paths[k])
			continue;
		free(*typed[k]);
		free(*resolved[k]);
		*resolved[k] = abs_path(paths[k]);
		if (!(*typed[k] = strdup(paths[k])))
			return mrl_err_set(err, MRL_ENOMEM, "manifest: out of memory");
	}
	return 0;
}

json_t *hrn_invocation_json(int argc, char *const *argv)
{
	json_t *a = json_array();
	if (!a || json_array_append_new(a, json_string("merilo")))
		return json_decref(a), NULL;
	for (int i = 0; i < argc; i++) /* bytes that are not UTF-8 become U+FFFD (rec_json_string) */
		if (json_array_append_new(a, rec_json_string(argv[i])))
			return json_decref(a), NULL;
	return a;
}

/* ------------------------------------------------------------- collect */

int hrn_manifest_collect(struct rec_manifest *m, const char *model_path, const char *suite_path,
			 const json_t *settings, struct mrl_err *err)
{
	char now[32], hex[65];
	int rc = 0;
	rec_manifest_init(m);
	rec_utc_now_iso8601(now, sizeof now);
	m->started_utc = strdup(now);
	m->merilo_version = strdup(MRL_VERSION);
	m->git_commit = strdup(hrn_build_commit());
	m->compiler = strdup(hrn_build_compiler());
	m->build_options = strdup(hrn_build_options());
	if (!m->started_utc || !m->merilo_version || !m->git_commit || !m->compiler || !m->build_options)
		return mrl_err_set(err, MRL_ENOMEM, "manifest: out of memory");
	host_collect(m);
	if (settings && !(m->settings = json_deep_copy(settings)))
		return mrl_err_set(err, MRL_ENOMEM, "manifest: out of memory copying settings");
	if (model_path && (rc = hrn_manifest_model(m, model_path, NULL, NULL, err)))
		return rc;
	if (suite_path) {
		if ((rc = hrn_sha256_file_cached(suite_path, hex, NULL, NULL, err)))
			return rc;
		if (!(m->suite_sha256 = strdup(hex)))
			return mrl_err_set(err, MRL_ENOMEM, "manifest: out of memory");
		return hrn_manifest_paths(m, NULL, suite_path, err);
	}
	return 0;
}
