// SPDX-License-Identifier: GPL-2.0-only
/*
 * A file replaced whole (replace.h): the new content under its name with
 * the mode asked for, whatever the umask, and nothing left aside; a writer
 * that fails, or a directory that is not there, leaves the old content.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replace.h"

static char dir[] = "/tmp/pone-replace-XXXXXX", path[64], tmp[64];

static int write_text(FILE *f, void *ctx)
{
	return fputs(ctx, f) < 0 ? -EIO : 0;
}

static int refuse(FILE *f, void *ctx)
{
	fputs(ctx, f);
	return -ENOSPC;
}

static void content_is(const char *want)
{
	char got[64] = "";
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, want);
	assert_int_not_equal(access(tmp, F_OK), 0);
}

static void replaced_whole(void **state)
{
	struct stat sb;
	mode_t old = umask(077);

	(void)state;
	assert_int_equal(file_replace(path, tmp, 0644, write_text, "one\n"), 0);
	content_is("one\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_int_equal(file_replace(path, tmp, 0600, write_text, "two\n"), 0);
	content_is("two\n");
	umask(old);
}

static void failure_keeps_the_old(void **state)
{
	char missing[96];

	(void)state;
	assert_int_equal(file_replace(path, tmp, 0600, write_text, "old\n"), 0);
	assert_int_equal(file_replace(path, tmp, 0600, refuse, "new\n"),
			 -ENOSPC);
	content_is("old\n");
	snprintf(missing, sizeof(missing), "%s/none/x", dir);
	assert_int_equal(file_replace(missing, missing, 0600, write_text,
				      "x"), -ENOENT);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(tmp, sizeof(tmp), "%s/.file.new", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replaced_whole),
		cmocka_unit_test(failure_keeps_the_old),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
