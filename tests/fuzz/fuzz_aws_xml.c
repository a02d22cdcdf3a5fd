/*
 * Fuzz aws/xml: parse under small limits, then walk the tree with the lookup
 * helpers the CloudWatch and STS parsers use; and the CloudWatch answer and
 * error readers built on it, with the same input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudwatch.h"
#include "aws/xml.h"

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xml_limits lim = {.max_bytes = 1 << 16, .max_depth = 16, .max_elements = 4096};
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;
	const struct xml_node *m;
	size_t n = 0;

	static const char *const names[] = {"errors", "p99"};
	struct cloudwatch_alarms alarms = CLOUDWATCH_ALARMS_INIT;
	char code[64], msg[128], rid[64], *token = NULL;

	alarms.items = calloc(2, sizeof(*alarms.items));
	if (alarms.items) {
		alarms.n = 2;
		for (size_t i = 0; i < 2; i++) {
			alarms.items[i].name = strdup(names[i]);
			alarms.items[i].reason = strdup("");
		}
		if (cloudwatch_describe_parse((const char *)data, size, &alarms, &token, &err) == 0)
			free(token);
		cloudwatch_alarms_release(&alarms);
	}
	cloudwatch_error_parse((const char *)data, size, code, sizeof(code), msg, sizeof(msg), rid,
	                       sizeof(rid));
	error_clear(&err);
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
