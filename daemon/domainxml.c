// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "domainxml.h"

/* The first node at path, or NULL. */
static xmlNodePtr node_at(xmlXPathContextPtr ctx, const char *path)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST path, ctx);
	xmlNodePtr n = NULL;

	if (o && o->nodesetval && o->nodesetval->nodeNr > 0)
		n = o->nodesetval->nodeTab[0];
	xmlXPathFreeObject(o);
	return n;
}

/* The text of the node at path into buf; false if there is none, or it
 * does not fit. */
static bool text_at(xmlXPathContextPtr ctx, const char *path, char *buf,
		    size_t len)
{
	xmlNodePtr n = node_at(ctx, path);
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	bool ok = t && *t && strlen((const char *)t) < len;

	if (ok)
		strcpy(buf, (const char *)t);
	xmlFree(t);
	return ok;
}

/* attach="yes|no" (absent: yes). */
static int read_attach(xmlNodePtr el, struct domain_settings *s, char *why,
		       size_t wlen)
{
	xmlChar *v = xmlGetProp(el, BAD_CAST "attach");
	int ret = 0;

	s->attach = true;
	if (v && !strcmp((const char *)v, "no"))
		s->attach = false;
	else if (v && strcmp((const char *)v, "yes")) {
		snprintf(why, wlen, "its PageONE metadata has attach=\"%s\": "
			 "write attach=\"yes\" or \"no\"", (const char *)v);
		ret = -EINVAL;
	}
	xmlFree(v);
	return ret;
}

static int read_sharing(xmlNodePtr el, struct domain_settings *s, char *why,
			size_t wlen)
{
	xmlChar *v = xmlGetProp(el, BAD_CAST "sharing");
	int ret = 0;

	if (v && (!*v || strlen((const char *)v) >= sizeof(s->sharing))) {
		snprintf(why, wlen, "its PageONE metadata has sharing=\"%s\": "
			 "name a sharing domain of 1 to %zu characters",
			 (const char *)v, sizeof(s->sharing) - 1);
		ret = -EINVAL;
	} else if (v) {
		strcpy(s->sharing, (const char *)v);
	}
	xmlFree(v);
	return ret;
}

static int read_settings(xmlXPathContextPtr ctx, struct domain_settings *s,
			 char *why, size_t wlen)
{
	xmlNodePtr el = node_at(ctx, "/domain/metadata/pone:settings");
	int ret;

	s->nosharepages = node_at(ctx, "/domain/memoryBacking/nosharepages") !=
			  NULL;
	s->attach = true;
	if (!el)
		return 0;
	ret = read_attach(el, s, why, wlen);
	return ret ? ret : read_sharing(el, s, why, wlen);
}

int domainxml_parse(const char *xml, size_t len, struct domain_settings *s,
		    char *why, size_t wlen)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR |
				      XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
	int ret = -EINVAL;

	memset(s, 0, sizeof(*s));
	if (!ctx) {
		snprintf(why, wlen, "its XML does not parse");
	} else if (xmlXPathRegisterNs(ctx, BAD_CAST "pone",
				      BAD_CAST DOMAINXML_NS)) {
		snprintf(why, wlen, "out of memory reading its XML");
		ret = -ENOMEM;
	} else if (!node_at(ctx, "/domain") ||
		   !text_at(ctx, "/domain/name", s->name, sizeof(s->name)) ||
		   !text_at(ctx, "/domain/uuid", s->uuid, sizeof(s->uuid))) {
		snprintf(why, wlen, "its XML is no libvirt domain with a name "
			 "and a UUID");
	} else {
		ret = read_settings(ctx, s, why, wlen);
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}
