/* chromium.h — headless Chromium for the tests of merilo's HTML pages (report,
 * leaderboard): how wide a page lays out at a given window width, and a
 * screenshot of it.
 *
 * Header-only (static inline), include after tests/cli.h. Chromium is optional:
 * cli_chromium_available() is false where it is not installed, and the caller
 * skips with that reason. The width is read from the DOM Chromium dumps: a copy
 * of the page gets a script before </body> that writes
 * document.documentElement.scrollWidth into an attribute. */
#ifndef MRL_TESTS_CHROMIUM_H
#define MRL_TESTS_CHROMIUM_H

#include "tests/cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CLI_CHROMIUM_SKIP "chromium is not installed (apt-get install chromium)"

static inline bool cli_chromium_available(void)
{
	return system("command -v chromium >/dev/null 2>&1") == 0;
}

/* document.documentElement.scrollWidth of the page at html (a file) in a window
 * width x 900 px; work is a scratch folder (Chromium's profile and the probe
 * copy go there). Where png is not NULL a screenshot of the window is saved
 * there too. -1 where Chromium fails. */
static inline long cli_chromium_scroll_width(const char *html, const char *work, int width, const char *png)
{
	char *out = NULL;
	long sw = -1;
	if (cli_sh(NULL, "sed 's|</body>|<script>document.body.setAttribute(\"data-sw\", "
			 "document.documentElement.scrollWidth)</script></body>|' '%s' > '%s/probe.html'",
		   html, work))
		return -1;
	int rc = cli_sh(&out, "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
			      "--window-size=%d,900 --user-data-dir='%s/chromium' --dump-dom 'file://%s/probe.html' "
			      "2>/dev/null", width, work, work);
	const char *at = out ? strstr(out, "data-sw=\"") : NULL;
	if (rc == 0 && at)
		sw = strtol(at + 9, NULL, 10);
	free(out);
	if (png && cli_sh(NULL, "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
				"--window-size=%d,900 --user-data-dir='%s/chromium' --screenshot='%s' 'file://%s' "
				">/dev/null 2>&1", width, work, png, html))
		return -1;
	return sw;
}

#endif
