// SPDX-License-Identifier: GPL-2.0-only
/*
 * What poned takes from a libvirt domain's XML, on XML as libvirt writes
 * it: the name and UUID, <nosharepages/>, and PageONE's metadata; and XML
 * it cannot use refused with why, whatever the rest says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "domainxml.h"

#define UUID "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"

/* A domain as `virsh dumpxml` shows it, with these elements added. */
static const char *domain(const char *memory_backing, const char *metadata)
{
	static char xml[4096];

	snprintf(xml, sizeof(xml),
		 "<domain type='kvm' id='3'>\n"
		 "  <name>web 1</name>\n"
		 "  <uuid>" UUID "</uuid>\n"
		 "  <metadata>\n%s"
		 "    <other:app xmlns:other='http://example.org/app/1'"
		 " sharing='wrong'/>\n"
		 "  </metadata>\n"
		 "  <memory unit='KiB'>1048576</memory>\n%s"
		 "  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>"
		 "</os>\n"
		 "</domain>\n", metadata, memory_backing);
	return xml;
}

static int parse(const char *xml, struct domain_settings *s, char *why)
{
	why[0] = '\0';
	return domainxml_parse(xml, strlen(xml), s, why, 256);
}

static void plain(void **state)
{
	struct domain_settings s;
	char why[256];

	(void)state;
	assert_int_equal(parse(domain("", ""), &s, why), 0);
	assert_string_equal(s.name, "web 1");
	assert_string_equal(s.uuid, UUID);
	assert_true(s.attach);
	assert_false(s.nosharepages);
	assert_string_equal(s.sharing, "");
}

static void nosharepages(void **state)
{
	struct domain_settings s;
	char why[256];

	(void)state;
	assert_int_equal(parse(domain("  <memoryBacking>\n    <nosharepages/>\n"
				      "  </memoryBacking>\n", ""), &s, why),
			 0);
	assert_true(s.nosharepages);
	assert_true(s.attach);
	/* Another element of memoryBacking is not it. */
	assert_int_equal(parse(domain("  <memoryBacking>\n    <locked/>\n"
				      "  </memoryBacking>\n", ""), &s, why),
			 0);
	assert_false(s.nosharepages);
}

static void metadata(void **state)
{
	struct domain_settings s;
	char why[256];

	(void)state;
	assert_int_equal(parse(domain("", "    <pone:settings xmlns:pone='"
				      DOMAINXML_NS "' sharing='tenant-a'/>\n"),
			       &s, why), 0);
	assert_string_equal(s.sharing, "tenant-a");
	assert_true(s.attach);
	/* libvirt gives the element back under a prefix of its own. */
	assert_int_equal(parse(domain("", "    <x:settings xmlns:x='"
				      DOMAINXML_NS "' attach='no'/>\n"),
			       &s, why), 0);
	assert_false(s.attach);
	assert_string_equal(s.sharing, "");
	assert_int_equal(parse(domain("", "    <pone:settings xmlns:pone='"
				      DOMAINXML_NS "' attach='yes'/>\n"),
			       &s, why), 0);
	assert_true(s.attach);
}

static void refused(const char *xml, const char *expect)
{
	struct domain_settings s;
	char why[256];

	assert_int_equal(parse(xml, &s, why), -EINVAL);
	if (!strstr(why, expect))
		fail_msg("'%s' does not say '%s'", why, expect);
}

static void bad(void **state)
{
	(void)state;
	refused("<domain><name>x</name>", "does not parse");
	refused("<network><name>x</name><uuid>" UUID "</uuid></network>",
		"no libvirt domain");
	refused("<domain><name>x</name></domain>", "no libvirt domain");
	refused(domain("", "<pone:settings xmlns:pone='" DOMAINXML_NS
		       "' attach='maybe'/>"), "attach=\"maybe\": write");
	refused(domain("", "<pone:settings xmlns:pone='" DOMAINXML_NS
		       "' sharing=''/>"), "name a sharing domain");
	refused(domain("", "<pone:settings xmlns:pone='" DOMAINXML_NS
		       "' sharing='" "0123456789012345678901234567890123456789"
		       "0123456789012345678901234567890123456789'/>"),
		"of 1 to 63 characters");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain),
		cmocka_unit_test(nosharepages),
		cmocka_unit_test(metadata),
		cmocka_unit_test(bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
