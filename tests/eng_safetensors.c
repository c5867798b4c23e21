/* eng_safetensors.c — the safetensors parser on good and hostile buffers.
 *
 * Each damaged file gets one clear error (a code and a message naming the
 * problem) and no read outside the buffer (run under ASan+UBSan in CI).
 */
#include "tests/tap.h"

#include <stdint.h>
#include <string.h>

#include "engine/safetensors.h"
#include "engine/types.h"

/* 8-byte length + header + data bytes into buf (8-aligned, for the f32 reads); returns the size. */
static size_t make(unsigned char *buf, size_t cap, const char *header, uint64_t claimed_len, size_t n_data)
{
	size_t hl = strlen(header);
	if (8 + hl + n_data > cap)
		return 0;
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)(claimed_len >> (8 * i));
	memcpy(buf + 8, header, hl);
	memset(buf + 8 + hl, 0, n_data);
	return 8 + hl + n_data;
}

static _Alignas(8) unsigned char buf[1 << 16];

static void expect(const char *header, uint64_t claimed, size_t n_data, size_t cut, int code, const char *want,
		   const char *name)
{
	size_t n = make(buf, sizeof buf, header, claimed == UINT64_MAX ? strlen(header) : claimed, n_data);
	if (cut && cut < n)
		n = cut;
	struct st_tensor *t = NULL;
	size_t nt = 0;
	struct mrl_err err = { 0 };
	int rc = st_parse(buf, n, "x.safetensors", &t, &nt, &err);
	if (!ok(rc == code && t == NULL, name))
		diag("rc %d, want %d", rc, code);
	like(err.msg, want, "  ...with a message that says so");
	st_tensors_free(t, nt);
}

int main(void)
{
	const uint64_t AUTO = UINT64_MAX;
	/* a good file: two f32 tensors, then a bf16 one */
	const char *good = "{\"__metadata__\":{\"format\":\"pt\"},"
			   "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
			   "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]}}  ";
	size_t n = make(buf, sizeof buf, good, strlen(good), 32);
	struct st_tensor *t = NULL;
	size_t nt = 0;
	struct mrl_err err = { 0 };
	is_int(st_parse(buf, n, "good.safetensors", &t, &nt, &err), 0, "a well-formed file parses");
	is_int(nt, 2, "two tensors (the __metadata__ entry is not one)");
	bool found_a = false;
	for (size_t i = 0; i < nt; i++)
		if (!strcmp(t[i].name, "a"))
			found_a = t[i].type == ENG_TYPE_F32 && t[i].n_dims == 2 && t[i].shape[0] == 2 &&
				  t[i].shape[1] == 3 && t[i].nbytes == 24 &&
				  t[i].data == buf + 8 + strlen(good);
	ok(found_a, "tensor a: F32 [2, 3], 24 bytes, pointing into the buffer (zero copy)");
	st_tensors_free(t, nt);

	expect("", 0, 0, 5, MRL_EINPUT, "too short", "a file shorter than the 8-byte length");
	expect(good, AUTO, 32, 40, MRL_EINPUT, "runs past the end of the file", "a truncated header");
	expect(good, 1u << 20, 32, 0, MRL_EINPUT, "runs past the end of the file", "a header length past EOF");
	expect(good, (uint64_t)1 << 40, 32, 0, MRL_EINPUT, "exceeds the", "a header length over the cap");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", AUTO, 12, 0, MRL_EINPUT,
	       "overlap", "overlapping tensors");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", AUTO, 8, 0, MRL_EINPUT,
	       "run past the data section", "offsets past the end of the data");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,4]}}", AUTO, 16, 0, MRL_EINPUT,
	       "0 <= begin <= end", "offsets the wrong way round");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", AUTO, 16, 0, MRL_EINPUT,
	       "need 12", "a size that disagrees with shape x dtype");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,16]}}",
	       AUTO, 16, 0, MRL_EINPUT, "overflows", "a shape whose product overflows");
	expect("{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", AUTO, 16, 0, MRL_EUNSUPPORTED,
	       "dtype 'I64' (supported: F32, F16, BF16)", "an unknown dtype is named");
	expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", AUTO, 4, 0, MRL_EINPUT,
	       "truncated JSON", "malformed header JSON");
	char deep[700] = "{\"a\":";
	for (int i = 0; i < 300; i++)
		strcat(deep, "[");
	for (int i = 0; i < 300; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	expect(deep, AUTO, 0, 0, MRL_EINPUT, "nests deeper than", "deeply nested JSON is refused before parsing");
	expect("{\"a\":[1]}", AUTO, 0, 0, MRL_EINPUT, "expected an object", "an entry that is not an object");

	/* 20,000 seeded mutations of the good file (bytes of the length and the
	 * header changed, the file cut): every one parses or is refused with
	 * MRL_EINPUT / MRL_EUNSUPPORTED and a message; under ASan nothing reads outside */
	static _Alignas(8) unsigned char mut[1 << 12];
	size_t good_n = make(buf, sizeof buf, good, strlen(good), 32);
	uint64_t rng = 20261202;
	size_t n_bad = 0, n_parsed = 0;
	for (int it = 0; it < 20000; it++) {
		memcpy(mut, buf, good_n);
		size_t len = good_n;
		int edits = 1 + it % 4;
		for (int e = 0; e < edits; e++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			size_t at = (size_t)(rng >> 33) % (8 + strlen(good));
			const char pool[] = "{}[]\",:0123456789-eE. FBIU\\";
			mut[at] = (rng >> 20) & 1 ? (unsigned char)(rng >> 40) : (unsigned char)pool[(rng >> 41) % (sizeof pool - 1)];
		}
		if (it % 7 == 0)
			len = (size_t)(rng >> 13) % (good_n + 1);
		struct st_tensor *mt = NULL;
		size_t mn = 0;
		struct mrl_err merr = { 0 };
		int rc = st_parse(mut, len, "m.safetensors", &mt, &mn, &merr);
		if (rc == 0)
			n_parsed++;
		else if ((rc != MRL_EINPUT && rc != MRL_EUNSUPPORTED) || !merr.msg[0])
			n_bad++;
		st_tensors_free(mt, mn);
	}
	diag("mutations: %zu of 20000 still parse", n_parsed);
	is_int(n_bad, 0, "20,000 mutated files: each parses or gets MRL_EINPUT/MRL_EUNSUPPORTED with a message");
	return done_testing();
}
