/* SPDX-License-Identifier: MIT */
#include "kernel/cmdline.h"
#include "arch/arch.h"
#include "lib/errno.h"
#include "lib/printf.h"
#include "lib/parse.h"
#include "lib/string.h"

struct kernel_options kopt = {.max_cpus = MAX_CPUS, .bbm_level = 2};

static int opt_test(struct kernel_options *o, char *value)
{
	if (!value || !*value)
		return ERR_INVAL;
	o->run_tests = true;
	if (!strcmp(value, "all")) {
		o->all_tests = true;
		return 0;
	}
	while (value && *value) {
		char *comma = strchr(value, ',');

		if (comma)
			*comma = '\0';
		if (o->nr_suites == CMDLINE_MAX_SUITES) {
			printf("granule: cmdline: more than %d suites in test=\n",
			       CMDLINE_MAX_SUITES);
			return ERR_INVAL;
		}
		o->suites[o->nr_suites++] = value;
		value = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* key=N with N in [min, max]; says what it takes otherwise. */
static int opt_count(const char *key, char *value, unsigned min, unsigned max, unsigned *out)
{
	u64 n;

	if (!value || !parse_u64(value, strlen(value), &n) || n < min || n > max) {
		printf("granule: cmdline: %s= takes a number from %u to %u\n", key, min, max);
		return ERR_INVAL;
	}
	*out = (unsigned)n;
	return 0;
}

static int opt_bbm(struct kernel_options *o, char *value)
{
	u64 n;

	if (!value || !parse_u64(value, strlen(value), &n) || n > 2) {
		printf("granule: cmdline: bbm= takes a FEAT_BBM level: 0, 1 or 2\n");
		return ERR_INVAL;
	}
	o->bbm_level = (unsigned)n;
	o->bbm_level_set = true;
	return 0;
}

static int opt_bbm_study(struct kernel_options *o, char *value)
{
	u64 n = 100;

	if (value && (!parse_u64(value, strlen(value), &n) || n < 1 || n > 100000)) {
		printf("granule: cmdline: bbm_study= takes a number of rounds from 1 to 100000\n");
		return ERR_INVAL;
	}
	o->bbm_study_rounds = (unsigned)n;
	return 0;
}

/* off, or a strategy letter: the order of enum hvo_strategy (mm/hvo.h). */
static int opt_hvo(struct kernel_options *o, char *value)
{
	if (value && !strcmp(value, "off")) {
		o->hvo = 0;
	} else if (value && value[0] >= 'a' && value[0] <= 'e' && !value[1]) {
		o->hvo = (unsigned)(value[0] - 'a') + 1;
	} else {
		printf("granule: cmdline: hvo= takes off or a strategy: a, b, c, d or e\n");
		return ERR_INVAL;
	}
	o->hvo_set = true;
	return 0;
}

static int opt_demo(struct kernel_options *o, char *value)
{
	static const char *const names[] = {
		[DEMO_COMPARE] = "compare", [DEMO_HGM] = "hgm", [DEMO_2M] = "2m", [DEMO_1G] = "1g"};

	o->demo = true;
	if (!value)
		return 0;
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(value, names[i])) {
			o->demo_mode = (enum demo_mode)i;
			return 0;
		}
	}
	printf("granule: cmdline: demo= takes compare, hgm, 2m or 1g\n");
	return ERR_INVAL;
}

/*
 * A size with a unit (K, M, G; a bare number counts MiB), a multiple of 2 MiB
 * from 2M to 64G: the guest's memory is mapped in 2 MiB units at least.
 */
static int opt_demo_mem(struct kernel_options *o, char *value)
{
	u64 bytes;

	if (!value || !parse_size(value, strlen(value), 20, &bytes) || bytes < MiB(2) ||
	    bytes > GiB(64) || (bytes & (MiB(2) - 1))) {
		printf("granule: cmdline: demo_mem= takes a size such as 1G or 512M (2 MiB steps, "
		       "from 2M to 64G), not '%s'\n",
		       value ? value : "");
		return ERR_INVAL;
	}
	o->demo_mem = bytes;
	return 0;
}

/* A number from 0 to max, remembered as given (0 is a value, not "unset"). */
static int opt_set_number(const char *key, char *value, unsigned max, unsigned *out, bool *set)
{
	int rc = opt_count(key, value, 0, max, out);

	*set = !rc;
	return rc;
}

static int opt_demo_policy(struct kernel_options *o, char *value)
{
	if (value && !strcmp(value, "sequential"))
		o->demo_policy = 0;
	else if (value && !strcmp(value, "around"))
		o->demo_policy = 1;
	else {
		printf("granule: cmdline: demo_policy= takes sequential or around\n");
		return ERR_INVAL;
	}
	return 0;
}

/*
 * A duration in ms: a number of seconds, or one with the unit s or ms; 0 and
 * off mean none. At most CMDLINE_VM_BUDGET_MAX_MS.
 */
static bool parse_budget_ms(const char *value, u64 *ms)
{
	size_t len = value ? strlen(value) : 0;
	u64 n, unit_ms = 1000;

	if (value && !strcmp(value, "off")) {
		*ms = 0;
		return true;
	}
	if (len > 2 && !strcmp(value + len - 2, "ms"))
		unit_ms = 1, len -= 2;
	else if (len > 1 && value[len - 1] == 's')
		len--;
	if (!len || !parse_u64(value, len, &n) || n > CMDLINE_VM_BUDGET_MAX_MS / unit_ms)
		return false;
	*ms = n * unit_ms;
	return true;
}

static int opt_vm_budget(struct kernel_options *o, char *value)
{
	if (!parse_budget_ms(value, &o->vm_budget_ms)) {
		printf("granule: cmdline: vm_budget= takes seconds or a duration such as 500ms or "
		       "30s (at most a day), or off; not '%s'\n",
		       value ? value : "");
		return ERR_INVAL;
	}
	o->vm_budget_set = true;
	return 0;
}

static int opt_flag(bool *flag, char *value)
{
	if (value)
		return ERR_INVAL;
	*flag = true;
	return 0;
}

/* 0, ERR_INVAL for a bad value, or ERR_NOENT (said here) for an option the kernel does not know. */
static int apply_option(struct kernel_options *o, char *key, char *value)
{
	if (!strcmp(key, "test"))
		return opt_test(o, value);
	if (!strcmp(key, "smp"))
		return opt_count(key, value, 1, MAX_CPUS, &o->max_cpus);
	if (!strcmp(key, "demo_vcpus"))
		return opt_count(key, value, 1, CMDLINE_DEMO_MAX_VCPUS, &o->demo_vcpus);
	if (!strcmp(key, "demo"))
		return opt_demo(o, value);
	if (!strcmp(key, "bbm"))
		return opt_bbm(o, value);
	if (!strcmp(key, "hvo"))
		return opt_hvo(o, value);
	if (!strcmp(key, "bbm_study"))
		return opt_bbm_study(o, value);
	if (!strcmp(key, "demo_mem"))
		return opt_demo_mem(o, value);
	if (!strcmp(key, "demo_latency"))
		return opt_set_number(key, value, 1000000, &o->demo_latency_us,
				      &o->demo_latency_set);
	if (!strcmp(key, "demo_bandwidth"))
		return opt_set_number(key, value, 1000000, &o->demo_mbytes_s,
				      &o->demo_bandwidth_set);
	if (!strcmp(key, "demo_policy"))
		return opt_demo_policy(o, value);
	if (!strcmp(key, "vm_budget"))
		return opt_vm_budget(o, value);
	if (!strcmp(key, "stress_rounds"))
		return opt_count(key, value, 1, 1000000, &o->stress_rounds);
	if (!strcmp(key, "semihosting"))
		return opt_flag(&o->semihosting, value);
	if (!strcmp(key, "quiet"))
		return opt_flag(&o->quiet, value);
	/* Boot loaders prepend these; they are not ours to interpret. */
	if (!strcmp(key, "BOOT_IMAGE") || !strcmp(key, "--"))
		return 0;
	printf("granule: cmdline: unknown option '%s' (known: test= smp= demo[=MODE] demo_mem= "
	       "demo_vcpus= demo_latency= demo_bandwidth= demo_policy= vm_budget= bbm= hvo= "
	       "bbm_study[=N] stress_rounds= semihosting quiet)\n",
	       key);
	return ERR_NOENT;
}

int cmdline_parse(char *cmdline, struct kernel_options *opts)
{
	char *p = cmdline;

	while (*p) {
		char *key, *value = NULL, *eq;
		int rc;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			*p++ = '\0';
		if (!*p)
			break;
		key = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
		eq = strchr(key, '=');
		if (eq) {
			*eq = '\0';
			value = eq + 1;
		}
		rc = apply_option(opts, key, value);
		if (rc == ERR_INVAL)
			printf("granule: cmdline: bad value for option '%s'\n", key);
		if (rc)
			return ERR_INVAL;
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_take(char *cmdline, const char *key, char *value, size_t value_size)
{
	size_t key_len = strlen(key), w = 0;
	int found = 0;
	bool fits = true;

	for (char *p = cmdline; *p;) {
		char *word;
		size_t len;

		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		word = p;
		while (*p && !is_blank(*p))
			p++;
		len = (size_t)(p - word);
		if (len > key_len && !strncmp(word, key, key_len) && word[key_len] == '=') {
			size_t value_len = len - key_len - 1;

			if (!found++) {
				fits = value_len < value_size;
				value_len = MIN(value_len, value_size - 1);
				memcpy(value, word + key_len + 1, value_len);
				value[value_len] = '\0';
			}
			continue;
		}
		/* The write position never passes the read position: memmove in place. */
		if (w)
			cmdline[w++] = ' ';
		memmove(cmdline + w, word, len);
		w += len;
	}
	cmdline[w] = '\0';
	return fits ? found : ERR_RANGE;
}

u64 cmdline_vm_budget_ms(const struct kernel_options *opts)
{
	if (opts->vm_budget_set)
		return opts->vm_budget_ms;
	return opts->run_tests ? CMDLINE_TEST_VM_BUDGET_MS : 0;
}

bool cmdline_wants_suite(const struct kernel_options *opts, const char *suite)
{
	if (opts->all_tests)
		return true;
	for (unsigned i = 0; i < opts->nr_suites; i++)
		if (!strcmp(opts->suites[i], suite))
			return true;
	return false;
}
