/*
 * parse.h - strict parsers for numbers, durations and sizes.
 *
 * Strict means: the whole string is consumed, no leading/trailing space, no
 * sign unless the type is signed, no overflow, no empty input.  Each parser
 * returns 0 or -EINVAL/-ERANGE, writes its output only on success and, when
 * `err` is given, says what is wrong in words.
 *
 * Durations: a sequence of <integer><unit>, units ms, s, m, h, d
 *   ("500ms", "30s", "5m", "1h", "1h30m").  A bare number is an error
 *   (ambiguous); "0s" is fine.
 * Sizes: <integer>[unit], units B, KiB, MiB, GiB, TiB (powers of 1024) and
 *   kB/KB, MB, GB, TB (powers of 1000); a bare number is bytes.
 *
 * And the way back, for people: size_format() writes a size in binary
 * units with one decimal ("512 B", "1.0 KiB", "12.4 MiB", "75.0 GiB").
 */
#ifndef ALIASD_UTIL_PARSE_H
#define ALIASD_UTIL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret, struct error *err);
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret, struct error *err);
int parse_int(const char *s, int min, int max, int *ret, struct error *err);
/* A finite decimal number, e.g. weights "0.1". */
int parse_double(const char *s, double min, double max, double *ret, struct error *err);
/* Duration in milliseconds. */
int parse_duration_ms(const char *s, uint64_t *ret_ms, struct error *err);
/* Size in bytes. */
int parse_size(const char *s, uint64_t *ret_bytes, struct error *err);
/* Human-readable size into out (always terminated; 16 bytes are enough); returns out. */
#define SIZE_FORMAT_MAX 16
char *size_format(uint64_t bytes, char *out, size_t size);
/* "true"/"false" (also yes/no/on/off as YAML 1.1 writers produce them). */
int parse_bool(const char *s, int *ret, struct error *err);

#endif
