/* quantity: exact resource quantities ("500m", "1.5Gi") with upstream's canonical printing.
 *
 * Private to the registry for now (core/obj will own quantities later). Values are kept as a
 * decimal digit string times a power of ten, so binary suffixes, milli rounding and sums are exact
 * on 32-bit boards too, where there is no 128-bit integer to lean on. */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

/* Longest digit string we accept from the user; the rest of REG_QTY_DIGITS is headroom for
 * binary suffixes (1024^6 adds 19 digits) and sums. */
#define MAX_INPUT_DIGITS 64

static void normalize(struct reg_qty *q)
{
	int lead = 0;
	while (lead < q->nd && q->d[lead] == '0')
		lead++;
	if (lead) {
		memmove(q->d, q->d + lead, (size_t)(q->nd - lead));
		q->nd -= lead;
	}
	while (q->nd > 0 && q->d[q->nd - 1] == '0') {
		q->nd--;
		q->exp++;
	}
	if (q->nd == 0) {
		q->exp = 0;
		q->neg = false;
	}
	q->d[q->nd] = '\0';
}

/* Multiplies the digits by a small factor; false when the result would not fit. */
static bool mul_small(struct reg_qty *q, unsigned f)
{
	char tmp[REG_QTY_DIGITS + 8];
	int n = 0;
	unsigned carry = 0;
	for (int i = q->nd - 1; i >= 0; i--) {
		unsigned v = (unsigned)(q->d[i] - '0') * f + carry;
		tmp[n++] = (char)('0' + v % 10);
		carry = v / 10;
	}
	while (carry) {
		tmp[n++] = (char)('0' + carry % 10);
		carry /= 10;
	}
	if (n > REG_QTY_DIGITS)
		return false;
	for (int i = 0; i < n; i++)
		q->d[i] = tmp[n - 1 - i];
	q->nd = n;
	q->d[n] = '\0';
	return true;
}

/* Adds one unit in the last digit place. */
static bool inc_last(struct reg_qty *q)
{
	int i = q->nd - 1;
	while (i >= 0 && q->d[i] == '9')
		q->d[i--] = '0';
	if (i >= 0) {
		q->d[i]++;
		return true;
	}
	if (q->nd + 1 > REG_QTY_DIGITS)
		return false;
	memmove(q->d + 1, q->d, (size_t)q->nd);
	q->d[0] = '1';
	q->nd++;
	q->d[q->nd] = '\0';
	return true;
}

void reg_qty_round_up(struct reg_qty *q, int scale)
{
	if (q->nd == 0 || q->exp >= scale)
		return;
	int drop = scale - q->exp;
	/* Normalized digits end in a non-zero digit, so something non-zero is always dropped. */
	if (drop >= q->nd) {
		q->d[0] = '1';
		q->nd = 1;
	} else {
		q->nd -= drop;
		q->d[q->nd] = '\0';
		if (!inc_last(q)) {
			q->d[0] = '1';
			q->nd = 1;
			scale += REG_QTY_DIGITS;
		}
	}
	q->exp = scale;
	normalize(q);
}

static int suffix_exp10(const char *s)
{
	static const struct {
		const char *s;
		int e;
	} t[] = { { "n", -9 }, { "u", -6 }, { "m", -3 }, { "", 0 },   { "k", 3 },
		  { "M", 6 },  { "G", 9 },  { "T", 12 }, { "P", 15 }, { "E", 18 } };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(s, t[i].s) == 0)
			return t[i].e;
	return 1000;
}

static int suffix_pow1024(const char *s)
{
	static const char *const t[] = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(s, t[i]) == 0)
			return (int)i + 1;
	return 0;
}

bool reg_qty_parse(const char *s, struct reg_qty *q)
{
	memset(q, 0, sizeof(*q));
	if (!s)
		return false;
	if (*s == '+' || *s == '-')
		q->neg = *s++ == '-';
	int ndigits = 0, frac = 0;
	bool dot = false;
	for (; (*s >= '0' && *s <= '9') || *s == '.'; s++) {
		if (*s == '.') {
			if (dot)
				return false;
			dot = true;
			continue;
		}
		ndigits++;
		if (dot)
			frac++;
		if (q->nd == 0 && *s == '0')
			continue; /* leading zero */
		if (q->nd >= MAX_INPUT_DIGITS)
			return false;
		q->d[q->nd++] = *s;
	}
	if (ndigits == 0)
		return false;
	q->exp = -frac;
	int pow1024 = 0, e10;
	if ((e10 = suffix_exp10(s)) != 1000) {
		q->fmt = REG_QTY_DECIMAL_SI;
		q->exp += e10;
	} else if ((pow1024 = suffix_pow1024(s)) != 0) {
		q->fmt = REG_QTY_BINARY_SI;
	} else if ((*s == 'e' || *s == 'E') && s[1]) {
		const char *p = s + 1;
		bool eneg = false;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (!*p)
			return false;
		int e = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || e > 10000)
				return false;
			e = e * 10 + (*p - '0');
		}
		q->fmt = REG_QTY_DECIMAL_EXP;
		q->exp += eneg ? -e : e;
	} else {
		return false;
	}
	q->d[q->nd] = '\0';
	for (int i = 0; i < pow1024; i++)
		if (!mul_small(q, 1024))
			return false;
	normalize(q);
	if (q->exp > 1000 || q->exp < -1000)
		return false;
	/* Upstream keeps nothing finer than nano units, rounding away from zero. */
	reg_qty_round_up(q, -9);
	return true;
}

bool reg_qty_json(const cJSON *item, struct reg_qty *q)
{
	if (cJSON_IsString(item))
		return reg_qty_parse(item->valuestring, q);
	if (cJSON_IsNumber(item)) {
		char buf[64];
		int64_t v;
		if (reg_json_int(item, &v))
			snprintf(buf, sizeof(buf), "%lld", (long long)v);
		else /* 15 significant digits: what the user typed, not binary noise like 0.1000..01 */
			snprintf(buf, sizeof(buf), "%.15g", item->valuedouble);
		return reg_qty_parse(buf, q);
	}
	return false;
}

int reg_qty_sign(const struct reg_qty *q)
{
	return q->nd == 0 ? 0 : q->neg ? -1 : 1;
}

static int cmp_mag(const struct reg_qty *a, const struct reg_qty *b)
{
	if (a->nd == 0 || b->nd == 0)
		return (a->nd != 0) - (b->nd != 0);
	int ta = a->nd + a->exp, tb = b->nd + b->exp;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	int n = MAX(a->nd, b->nd);
	for (int i = 0; i < n; i++) {
		char ca = i < a->nd ? a->d[i] : '0', cb = i < b->nd ? b->d[i] : '0';
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return 0;
}

int reg_qty_cmp(const struct reg_qty *a, const struct reg_qty *b)
{
	int sa = reg_qty_sign(a), sb = reg_qty_sign(b);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	int m = cmp_mag(a, b);
	return sa < 0 ? -m : m;
}

void reg_qty_add(struct reg_qty *a, const struct reg_qty *b)
{
	if (b->nd == 0)
		return;
	if (a->nd == 0) {
		enum reg_qty_format f = a->fmt;
		*a = *b;
		a->fmt = f;
		return;
	}
	struct reg_qty x = *a, y = *b;
	int top = MAX(x.nd + x.exp, y.nd + y.exp) + 1;
	int low = MIN(x.exp, y.exp);
	if (top - low > REG_QTY_DIGITS) {
		/* Far apart in scale: keep the significant end, rounding the rest up. */
		low = top - REG_QTY_DIGITS;
		reg_qty_round_up(&x, low);
		reg_qty_round_up(&y, low);
		top = MAX(x.nd + x.exp, y.nd + y.exp) + 1;
	}
	int n = top - low;
	int sum[REG_QTY_DIGITS + 2] = { 0 }; /* little-endian, place i is 10^(low+i) */
	const struct reg_qty *v[2] = { &x, &y };
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < v[k]->nd; i++)
			sum[v[k]->exp - low + (v[k]->nd - 1 - i)] += v[k]->d[i] - '0';
	for (int i = 0; i < n; i++) {
		sum[i + 1] += sum[i] / 10;
		sum[i] %= 10;
	}
	a->nd = 0;
	for (int i = n - 1; i >= 0; i--)
		if (a->nd || sum[i])
			a->d[a->nd++] = (char)('0' + sum[i]);
	a->exp = low;
	a->neg = false;
	normalize(a);
}

/* Divides an integer digit string by 1024 in place when it divides evenly. */
static bool div1024(char *d, int *nd)
{
	char out[REG_QTY_DIGITS + 8];
	int n = 0;
	unsigned rem = 0;
	for (int i = 0; i < *nd; i++) {
		rem = rem * 10 + (unsigned)(d[i] - '0');
		if (n || rem / 1024)
			out[n++] = (char)('0' + rem / 1024);
		rem %= 1024;
	}
	if (rem)
		return false;
	memcpy(d, out, (size_t)n);
	*nd = n;
	d[n] = '\0';
	return true;
}

void reg_qty_format(const struct reg_qty *q, char *out, size_t outlen)
{
	if (q->nd == 0) {
		snprintf(out, outlen, "0");
		return;
	}
	const char *sign = q->neg ? "-" : "";
	enum reg_qty_format fmt = q->fmt;
	if (fmt == REG_QTY_BINARY_SI) {
		static const struct reg_qty k1024 = { .nd = 4, .d = "1024" };
		/* Small or fractional values print in decimal rather than lose precision. */
		if (cmp_mag(q, &k1024) < 0 || q->exp < 0)
			fmt = REG_QTY_DECIMAL_SI;
	}
	if (fmt == REG_QTY_BINARY_SI) {
		char d[2 * REG_QTY_DIGITS + 8];
		int nd = q->nd + q->exp;
		if (nd > (int)sizeof(d) - 1) {
			fmt = REG_QTY_DECIMAL_SI;
		} else {
			memcpy(d, q->d, (size_t)q->nd);
			memset(d + q->nd, '0', (size_t)q->exp);
			d[nd] = '\0';
			int p = 0;
			while (p < 6 && div1024(d, &nd))
				p++;
			static const char *const sfx[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
			snprintf(out, outlen, "%s%s%s", sign, d, sfx[p]);
			return;
		}
	}
	/* Decimal: the exponent goes down to a multiple of three, padding the mantissa. */
	int e3 = q->exp - (((q->exp % 3) + 3) % 3);
	int pad = q->exp - e3;
	char mant[REG_QTY_DIGITS + 4];
	memcpy(mant, q->d, (size_t)q->nd);
	memset(mant + q->nd, '0', (size_t)pad);
	mant[q->nd + pad] = '\0';
	static const char *const si[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" };
	if (fmt == REG_QTY_DECIMAL_SI && e3 >= -9 && e3 <= 18)
		snprintf(out, outlen, "%s%s%s", sign, mant, si[(e3 + 9) / 3]);
	else if (e3 == 0)
		snprintf(out, outlen, "%s%s", sign, mant);
	else
		snprintf(out, outlen, "%s%se%d", sign, mant, e3);
}
