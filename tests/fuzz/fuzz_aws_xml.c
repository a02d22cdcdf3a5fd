/*
 * Fuzz aws/xml: parse under small limits, then walk the tree with the lookup
 * helpers the CloudWatch and STS parsers use.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aws/xml.h"

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xml_limits lim = {.max_bytes = 1 << 16, .max_depth = 16, .max_elements = 4096};
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;
	const struct xml_node *m;
	size_t n = 0;

	if (xml_parse(&doc, (const char *)data, size, &lim, &err) < 0)
		return 0;
	for (m = xml_find(doc, "DescribeAlarmsResponse/DescribeAlarmsResult/MetricAlarms/member"); m;
	     m = xml_next(m)) {
		const char *name = xml_text(m, "AlarmName");

		n += name ? strlen(name) : 0;
	}
	(void)xml_text(doc, "ErrorResponse/Error/Code");
	(void)xml_child(xml_child(doc, NULL), NULL);
	xml_free(doc);
	sink = n;
	return 0;
}
