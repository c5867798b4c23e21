/* hrn_common.c — tests for common/sha256 and common/fileio.
 *
 * (Named hrn_ because the Makefile links tests by prefix and common/ has none.)
 * SHA-256 against the FIPS 180-2 vectors, fed in odd chunk sizes; atomic
 * replace leaves the old file intact and no temporary behind when a write
 * fails (file-size limit always; a real full disk where a small tmpfs can be
 * mounted in a private mount namespace); the read helper's cap and errors.
 */
#include "common/fileio.h"
#include "common/sha256.h"
#include "tests/tap.h"
#include "tests/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void hex_of_chunks(const char *data, size_t len, size_t chunk, char hex[65])
{
	struct mrl_sha256 ctx;
	uint8_t d[32];
	mrl_sha256_init(&ctx);
	for (size_t off = 0; off < len; off += chunk)
		mrl_sha256_update(&ctx, data + off, len - off < chunk ? len - off : chunk);
	mrl_sha256_final(&ctx, d);
	mrl_sha256_hex(d, hex);
}

static void test_sha256_vectors(void)
{
	static const struct { const char *msg, *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	char hex[65], name[128];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		mrl_sha256_buf_hex(v[i].msg, strlen(v[i].msg), hex);
		snprintf(name, sizeof name, "sha256 FIPS vector %zu (%zu bytes) one-shot", i, strlen(v[i].msg));
		is_str(hex, v[i].hex, name);
		for (size_t chunk = 1; chunk <= 65; chunk += 7) {
			hex_of_chunks(v[i].msg, strlen(v[i].msg), chunk, hex);
			if (strcmp(hex, v[i].hex))
				break;
		}
		snprintf(name, sizeof name, "sha256 FIPS vector %zu fed in chunks of 1..64 bytes", i);
		is_str(hex, v[i].hex, name);
	}
	/* one million 'a', fed in chunks of 1000 and of 4099 (not a multiple of 64) */
	size_t n = 1000000;
	char *a = malloc(n);
	memset(a, 'a', n);
	hex_of_chunks(a, n, 1000, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "sha256 of one million 'a' (FIPS 180-2 B.3), 1000-byte chunks");
	hex_of_chunks(a, n, 4099, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "sha256 of one million 'a', 4099-byte chunks");
	/* lengths around the padding boundary (55, 56, 63, 64, 65) must agree streamed vs one-shot */
	int agree = 1;
	for (size_t len = 50; len < 140; len++) {
		char h1[65], h2[65];
		mrl_sha256_buf_hex(a, len, h1);
		hex_of_chunks(a, len, 3, h2);
		agree &= !strcmp(h1, h2);
	}
	ok(agree, "sha256 streamed (3-byte chunks) equals one-shot for lengths 50..139");
	/* a 2.5 MiB file (spans 1 MiB chunks) hashes as the buffer does */
	char path[] = "/tmp/merilo-sha-XXXXXX";
	int fd = mkstemp(path);
	size_t fsize = (5u << 20) / 2 + 17;
	char *data = malloc(fsize);
	for (size_t i = 0; i < fsize; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	ok(fd >= 0 && write(fd, data, fsize) == (ssize_t)fsize, "wrote a 2.5 MiB test file");
	close(fd);
	char want[65], got[65];
	uint64_t size = 0;
	struct mrl_err err = { 0 };
	mrl_sha256_buf_hex(data, fsize, want);
	is_int(mrl_sha256_file(path, got, &size, &err), 0, "mrl_sha256_file succeeds");
	is_str(got, want, "mrl_sha256_file equals the one-shot hash of the same bytes");
	is_int(size, fsize, "mrl_sha256_file reports the number of bytes hashed");
	unlink(path);
	is_int(mrl_sha256_file(path, got, &size, &err), MRL_EIO, "hashing a missing file fails with MRL_EIO");
	like(err.msg, path, "the error names the path");
	like(err.msg, "No such file", "the error says why");
	free(data);
	free(a);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void test_fileio_basic(const char *dir)
{
	char path[512], missing[600];
	struct mrl_err err = { 0 };
	char *data = NULL;
	size_t len = 0;
	snprintf(path, sizeof path, "%s/out.json", dir);
	is_int(mrl_write_file_atomic(path, "first\n", 6, &err), 0, "atomic write creates a new file");
	is_int(mrl_read_file(path, 100, &data, &len, &err), 0, "read it back");
	is_str(data, "first\n", "content is what was written");
	is_int(len, 6, "length excludes the NUL");
	free(data);
	is_int(mrl_write_file_atomic(path, "second, longer\n", 15, &err), 0, "atomic write replaces an existing file");
	mrl_read_file(path, 100, &data, &len, &err);
	is_str(data, "second, longer\n", "replaced content is the new content");
	free(data);
	is_int(count_entries(dir), 1, "no temporary file is left in the directory");
	struct stat st;
	stat(path, &st);
	ok((st.st_mode & 0777) != 0600 && (st.st_mode & 0400), "the new file gets mode 0644 less the umask, not a temp file's 0600");

	is_int(mrl_write_file_atomic(path, "", 0, &err), 0, "an empty write is allowed");
	mrl_read_file(path, 100, &data, &len, &err);
	is_int(len, 0, "and reads back empty");
	free(data);

	snprintf(missing, sizeof missing, "%s/no-such-dir/out.json", dir);
	is_int(mrl_write_file_atomic(missing, "x", 1, &err), MRL_EWRITE, "writing into a missing directory fails");
	like(err.msg, missing, "the error names the target path");
	like(err.msg, "No such file or directory", "and the cause");

	is_int(mrl_read_file(path, 100, &data, &len, &err), 0, "read an empty file");
	free(data);
	mrl_write_file_atomic(path, "0123456789", 10, &err);
	is_int(mrl_read_file(path, 9, &data, &len, &err), MRL_EINPUT, "a file over the cap is refused");
	ok(data == NULL, "and nothing is returned");
	like(err.msg, "limit of 9 bytes", "the error states the cap");
	is_int(mrl_read_file(path, 10, &data, &len, &err), 0, "a file exactly at the cap is read");
	free(data);
	is_int(mrl_read_file(path, SIZE_MAX, &data, &len, &err), 0, "no cap (SIZE_MAX): the file is read");
	ok(data && len == 10 && !strcmp(data, "0123456789"), "all of it");
	free(data);
	is_int(mrl_read_file("/proc/self/status", 1 << 20, &data, &len, &err), 0,
	       "a /proc file (st_size 0) is read to its end");
	like(data, "Pid:", "with its content");
	free(data);
	is_int(mrl_read_file("/proc/self/status", 10, &data, &len, &err), MRL_EINPUT,
	       "the cap also applies to files whose size is not known in advance");
	is_int(mrl_read_file(dir, 100, &data, &len, &err), MRL_EIO, "reading a directory fails");
	like(err.msg, "directory", "and says so");
	is_int(mrl_read_file(missing, 100, &data, &len, &err), MRL_EIO, "reading a missing file fails");
	like(err.msg, missing, "naming the path");
	unlink(path);
}

/* Run fn in a child, which writes its findings to a pipe; returns them (static buffer). */
static const char *in_child(void (*fn)(int out_fd, const char *arg), const char *arg, int *status)
{
	static char buf[2048];
	int p[2];
	memset(buf, 0, sizeof buf);
	if (pipe(p))
		return "pipe failed";
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		fn(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	size_t got = 0;
	for (ssize_t n; (n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0;)
		got += (size_t)n;
	close(p[0]);
	waitpid(pid, status, 0);
	return buf;
}

static void report(int fd, const char *fmt, ...)
{
	char line[1536];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (write(fd, line, (size_t)n) < 0)
		_exit(9);
}

/* in the child: keep the old file, try to replace it with `big` bytes, report */
static void try_replace(int out_fd, const char *dir, size_t big)
{
	char path[512];
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir);
	if (mrl_write_file_atomic(path, "{\"old\": true}\n", 14, &err)) {
		report(out_fd, "setup failed: %s", err.msg);
		return;
	}
	char *data = calloc(1, big);
	int rc = mrl_write_file_atomic(path, data, big, &err);
	free(data);
	char *back = NULL;
	mrl_read_file(path, 1 << 20, &back, NULL, NULL);
	report(out_fd, "rc=%d intact=%d entries=%d msg=%s", rc, back && !strcmp(back, "{\"old\": true}\n"),
	       count_entries(dir), err.msg);
	free(back);
}

static void child_fsize(int out_fd, const char *dir)
{
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = { 4096, 4096 };
	setrlimit(RLIMIT_FSIZE, &rl);
	try_replace(out_fd, dir, 100000);
}

static void child_enospc(int out_fd, const char *dir)
{
	(void)dir;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		report(out_fd, "skip: cannot make a private mount namespace: %s", strerror(errno));
		return;
	}
	char mnt[] = "/tmp/merilo-tmpfs-XXXXXX";
	if (!mkdtemp(mnt) || mount("tmpfs", mnt, "tmpfs", 0, "size=64k")) {
		report(out_fd, "skip: cannot mount a 64 KiB tmpfs: %s", strerror(errno));
		return;
	}
	try_replace(out_fd, mnt, 1 << 20);
	umount(mnt);
	rmdir(mnt);
}

static void test_fileio_failures(const char *dir)
{
	int status = 0;
	const char *r = in_child(child_fsize, dir, &status);
	diag("file-size limit child: %s", r);
	like(r, "rc=-6", "a write past the file-size limit fails with MRL_EWRITE");
	like(r, "intact=1", "the old file is left exactly as it was");
	like(r, "entries=1", "and the temporary file is removed");
	like(r, "results.json: write failed", "the message names the path and the step");
	like(r, "old file is unchanged", "the message says the old file is kept");
	unlink(strcat(strcpy((char[600]){ 0 }, dir), "/results.json"));

	r = in_child(child_enospc, dir, &status);
	diag("full-disk child: %s", r);
	if (!strncmp(r, "skip:", 5)) {
		for (int i = 0; i < 4; i++)
			skip(r + 6, "full disk (ENOSPC) check");
		return;
	}
	like(r, "rc=-6", "writing to a full disk fails with MRL_EWRITE");
	like(r, "disk full", "the message says \"disk full\"");
	like(r, "intact=1", "the old file is left exactly as it was on a full disk");
	like(r, "entries=1", "and the temporary file is removed");
}

/* The SHA-instruction path (where this CPU has it) against the portable C one:
 * 2000 random lengths (0..100000), offsets and piece sizes of pseudo-random bytes,
 * and the FIPS one-million-'a' vector through the C path alone. */
static void test_sha256_paths(void)
{
	const size_t n = 200000;
	uint8_t *b = malloc(n + 8);
	uint64_t x = 1;
	for (size_t i = 0; i < n + 8; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (uint8_t)(x >> 56);
	}
	struct mrl_sha256 probe;
	mrl_sha256_init(&probe);
	struct mrl_sha256 gen;
	mrl_sha256_init_generic(&gen);
	diag("sha256 compression: %s", probe.blocks == gen.blocks ? "portable C (no SHA instructions here)"
								 : "SHA instructions (SHA-NI)");
	int bad = 0;
	for (int trial = 0; trial < 2000; trial++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		const size_t len = trial < 200 ? (size_t)trial : (size_t)(x >> 33) % 100000, off = (size_t)trial % 7;
		struct mrl_sha256 a, g;
		mrl_sha256_init(&a);
		mrl_sha256_init_generic(&g);
		for (size_t done = 0; done < len;) {
			size_t k = (done * 31 + 7) % 997 + 1;
			if (k > len - done)
				k = len - done;
			mrl_sha256_update(&a, b + off + done, k);
			mrl_sha256_update(&g, b + off + done, k);
			done += k;
		}
		uint8_t da[MRL_SHA256_DIGEST_LEN], dg[MRL_SHA256_DIGEST_LEN];
		mrl_sha256_final(&a, da);
		mrl_sha256_final(&g, dg);
		bad += memcmp(da, dg, sizeof da) != 0;
	}
	is_int(bad, 0, "sha256: the CPU's compression equals the portable one on 2000 random inputs");
	memset(b, 'a', n);
	uint8_t d[MRL_SHA256_DIGEST_LEN];
	char hex[MRL_SHA256_HEX_LEN + 1];
	mrl_sha256_init_generic(&gen);
	for (int i = 0; i < 5; i++)
		mrl_sha256_update(&gen, b, n);
	mrl_sha256_final(&gen, d);
	mrl_sha256_hex(d, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "sha256 portable path: one million 'a' (FIPS 180-2 B.3)");
	free(b);
}

int main(void)
{
	test_sha256_vectors();
	test_sha256_paths();
	char dir[64];
	if (!cli_tmpdir(dir, sizeof dir, "fileio")) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_fileio_basic(dir);
	test_fileio_failures(dir);
	rmdir(dir);
	return done_testing();
}
