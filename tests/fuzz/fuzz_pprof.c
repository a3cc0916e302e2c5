/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Fuzzes the pprof decoder (common/pprof_reader.h). The input is read as it
 * is (a protobuf message, or a gzip stream when it starts with 1f 8b) and
 * again gzipped here, so that inflate sees well-formed streams of any
 * content too. The contract checked:
 *
 * - an error is -EINVAL, -E2BIG or -ENOMEM, and *ret_profile is untouched;
 * - a profile's every reference resolves (a sample's locations, a
 *   location's mapping, a line's function), every id is non-zero and finds
 *   its own element, every sample has a value per sample type, every string
 *   is non-NULL (but a label's str and num_unit) and readable;
 * - the raw and the gzipped input read alike, and a limit one byte short of
 *   the decompressed size is -E2BIG.
 */
#include <zlib.h>

#include "fuzz.h"
#include "pprof_reader.h"

static volatile size_t sink;
/* What *ret_profile holds before a call that must leave it alone. */
static struct pprof_reader_profile untouched;

/* Reads the whole string, so that ASan sees an unterminated one. */
static size_t check_string(const char *s)
{
	FUZZ_CHECK(s != NULL);
	return strlen(s);
}

static void check_profile(const struct pprof_reader_profile *p)
{
	size_t i, j, sum = 0;

	FUZZ_CHECK((p->n_sample_types == 0) == (p->sample_types == NULL));
	FUZZ_CHECK((p->n_samples == 0) == (p->samples == NULL));
	FUZZ_CHECK((p->n_mappings == 0) == (p->mappings == NULL));
	FUZZ_CHECK((p->n_locations == 0) == (p->locations == NULL));
	FUZZ_CHECK((p->n_functions == 0) == (p->functions == NULL));
	FUZZ_CHECK((p->n_comments == 0) == (p->comments == NULL));
	sum += check_string(p->period_type.type) + check_string(p->period_type.unit);
	for (i = 0; i < p->n_sample_types; i++)
		sum += check_string(p->sample_types[i].type) +
		       check_string(p->sample_types[i].unit);
	for (i = 0; i < p->n_comments; i++)
		sum += check_string(p->comments[i]);
	for (i = 0; i < p->n_samples; i++) {
		const struct pprof_reader_sample *s = &p->samples[i];

		FUZZ_CHECK(s->n_values == p->n_sample_types);
		FUZZ_CHECK((s->n_locations == 0) == (s->location_ids == NULL));
		FUZZ_CHECK((s->n_values == 0) == (s->values == NULL));
		FUZZ_CHECK((s->n_labels == 0) == (s->labels == NULL));
		for (j = 0; j < s->n_locations; j++)
			FUZZ_CHECK(pprof_reader__location(p, s->location_ids[j]) != NULL);
		for (j = 0; j < s->n_values; j++)
			sum += (size_t)s->values[j];
		for (j = 0; j < s->n_labels; j++) {
			const struct pprof_reader_label *l = &s->labels[j];
			int64_t num;

			sum += check_string(l->key);
			if (l->str) {
				sum += strlen(l->str);
				FUZZ_CHECK(pprof_reader__label_str(s, l->key) != NULL);
			} else {
				FUZZ_CHECK(pprof_reader__label_num(s, l->key, &num) == 0);
			}
			if (l->num_unit)
				sum += strlen(l->num_unit);
		}
	}
	for (i = 0; i < p->n_mappings; i++) {
		const struct pprof_reader_mapping *m = &p->mappings[i];

		FUZZ_CHECK(m->id != 0 && pprof_reader__mapping(p, m->id) == m);
		sum += check_string(m->file) + check_string(m->build_id);
	}
	for (i = 0; i < p->n_locations; i++) {
		const struct pprof_reader_location *l = &p->locations[i];

		FUZZ_CHECK(l->id != 0 && pprof_reader__location(p, l->id) == l);
		FUZZ_CHECK(l->mapping_id == 0 || pprof_reader__mapping(p, l->mapping_id) != NULL);
		FUZZ_CHECK((l->n_lines == 0) == (l->lines == NULL));
		for (j = 0; j < l->n_lines; j++)
			FUZZ_CHECK(pprof_reader__function(p, l->lines[j].function_id) != NULL);
	}
	for (i = 0; i < p->n_functions; i++) {
		const struct pprof_reader_function *f = &p->functions[i];

		FUZZ_CHECK(f->id != 0 && pprof_reader__function(p, f->id) == f);
		sum += check_string(f->name) + check_string(f->system_name) + check_string(f->file);
	}
	FUZZ_CHECK(pprof_reader__location(p, 0) == NULL);
	FUZZ_CHECK(pprof_reader__function(p, 0) == NULL);
	FUZZ_CHECK(pprof_reader__mapping(p, 0) == NULL);
	sink = sum;
}

/* Reads data with max_bytes and checks the contract; returns the error, *ret_p the profile. */
static int read_checked(const void *data, size_t size, size_t max_bytes,
			struct pprof_reader_profile **ret_p)
{
	struct pprof_reader_profile *p = &untouched;
	int err;

	err = pprof_reader__read(data, size, max_bytes, &p);
	if (err) {
		FUZZ_CHECK(err == -EINVAL || err == -E2BIG || err == -ENOMEM);
		FUZZ_CHECK(p == &untouched);
		*ret_p = NULL;
		return err;
	}
	FUZZ_CHECK(p != NULL && p != &untouched);
	check_profile(p);
	*ret_p = p;
	return 0;
}

/* Gzips data into *ret_gz (malloc'd); exits on failure, as nothing can be fuzzed then. */
static size_t gzip(const uint8_t *data, size_t size, uint8_t **ret_gz)
{
	z_stream zs = { 0 };
	size_t cap;

	FUZZ_CHECK(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) ==
		   Z_OK);
	cap = deflateBound(&zs, (uLong)size) + 32;
	*ret_gz = malloc(cap);
	FUZZ_CHECK(*ret_gz != NULL);
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)size;
	zs.next_out = *ret_gz;
	zs.avail_out = (uInt)cap;
	FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
	deflateEnd(&zs);
	return zs.total_out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
	struct pprof_reader_profile *raw, *wrapped, *unused;
	uint8_t *gz;
	size_t gz_size;
	int err, gz_err;

	err = read_checked(data, size, 0, &raw);
	gz_size = gzip(data, size, &gz);
	gz_err = read_checked(gz, gz_size, 0, &wrapped);
	if (!gzipped) {
		/* the gzip layer changes nothing: same error, same tables */
		FUZZ_CHECK(err == gz_err);
		if (!err) {
			FUZZ_CHECK(raw->n_samples == wrapped->n_samples);
			FUZZ_CHECK(raw->n_locations == wrapped->n_locations);
			FUZZ_CHECK(raw->n_functions == wrapped->n_functions);
			FUZZ_CHECK(raw->n_mappings == wrapped->n_mappings);
			FUZZ_CHECK(raw->period == wrapped->period);
		}
		/* a byte short of the size, raw or decompressed, is too big (0 is the default) */
		if (size > 1) {
			FUZZ_CHECK(read_checked(data, size, size - 1, &unused) == -E2BIG);
			FUZZ_CHECK(read_checked(gz, gz_size, size - 1, &unused) == -E2BIG);
		}
	}
	pprof_reader__free(raw);
	pprof_reader__free(wrapped);
	free(gz);
	return 0;
}
