/*
 * fuzz_manifest_parse.c - libFuzzer target over YAML -> tree -> model.
 *
 * The input is one manifest file "m.yaml" in an in-memory repository that also
 * holds a small zip "a.zip" and a symlink "l.zip", so zipFile references are
 * exercised.  The same bytes are also parsed with the config file's limits
 * (no aliases).
 */
#include <stddef.h>
#include <stdint.h>

#include "manifest/load.h"
#include "manifest/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char zip[] = "PK\x05\x06";
	struct manifest_mem_file files[] = {
	    {"m.yaml", (const char *)data, size, false},
	    {"a.zip", zip, sizeof(zip) - 1, false},
	    {"l.zip", "", 0, true},
	};
	struct yaml_limits cfg = YAML_LIMITS_CONFIG;
	struct errlist errs = ERRLIST_INIT;
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct yaml_stream *stream = NULL;

	if (manifest_source_mem_open(&src, files, 3, NULL) == 0) {
		if (manifest_load(&set, src, "", NULL) == 0) {
			/* touch the model so the sanitizers see every field */
			for (size_t i = 0; i < set->n_functions; i++) {
				const struct manifest_function *f = &set->functions[i];
				for (size_t j = 0; j < f->n_aliases; j++)
					if (f->aliases[j].primary.release && !f->n_errors &&
					    f->aliases[j].primary.release_index >= f->n_releases)
						__builtin_trap();
			}
			manifest_set_free(set);
		}
		manifest_source_free(src);
	}
	if (yaml_stream_parse(&stream, "c.yaml", (const char *)data, size, &cfg, &errs) == 0) {
		for (size_t i = 0; i < stream->n_docs; i++)
			if (stream->docs[i].root)
				(void)yaml_describe(stream->docs[i].root);
		yaml_stream_free(stream);
	}
	errlist_release(&errs);
	return 0;
}
