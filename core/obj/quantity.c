/* quantity: resource.Quantity parsing, exact fixed-point arithmetic, canonical printing. */
#include <stdio.h>
#include <string.h>

#include "core/obj/obj-internal.h"

#define NANO 1000000000u
#define QTY_MAX_UNITS ((uint64_t)INT64_MAX)
/* Longer strings are refused rather than multiplied out digit by digit. */
#define QTY_MAX_INPUT 1024

#define QTY_REGEX "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

static int format_wrong(struct err *e, const char *s)
{
	return err_set(
	    e, -EINVAL,
	    "quantity \"%.64s\": quantities must match the regular expression '" QTY_REGEX "'", s);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Scanner with upstream's quirks: "1.", ".5" and "1.G" are numbers; leading zeros go. */
struct scan {
	bool neg;
	const char *num; /* leading zeros stripped; may be empty (zero) */
	size_t nnum;
	const char *denom;
	size_t ndenom;
	const char *suffix;
	size_t nsuffix;
	bool zero_early; /* nothing but sign and zeros */
};

static bool scan_quantity(const char *s, struct scan *sc)
{
	const char *p = s;
	memset(sc, 0, sizeof(*sc));
	if (*p == '-' || *p == '+')
		sc->neg = *p++ == '-';
	while (*p == '0')
		p++;
	if (!*p) {
		sc->zero_early = true;
		return true;
	}
	sc->num = p;
	while (is_digit(*p))
		p++;
	sc->nnum = (size_t)(p - sc->num);
	if (!*p)
		return true;
	if (*p == '.') {
		p++;
		sc->denom = p;
		while (is_digit(*p))
			p++;
		sc->ndenom = (size_t)(p - sc->denom);
		if (!*p)
			return true;
	}
	sc->suffix = p;
	while (*p && strchr("eEinumkKMGTP", *p))
		p++;
	if (*p == '-' || *p == '+')
		p++;
	while (is_digit(*p))
		p++;
	if (*p)
		return false;
	sc->nsuffix = (size_t)(p - sc->suffix);
	return true;
}

/* base 10 with a decimal exponent, or base 2 with a binary one. */
static bool interpret_suffix(const char *s, size_t n, int *base, int64_t *exp, enum qty_format *f)
{
	static const struct {
		const char *s;
		int base, exp;
		enum qty_format f;
	} table[] = {
		{ "", 10, 0, QTY_DECIMAL_SI },   { "n", 10, -9, QTY_DECIMAL_SI },
		{ "u", 10, -6, QTY_DECIMAL_SI }, { "m", 10, -3, QTY_DECIMAL_SI },
		{ "k", 10, 3, QTY_DECIMAL_SI },  { "M", 10, 6, QTY_DECIMAL_SI },
		{ "G", 10, 9, QTY_DECIMAL_SI },  { "T", 10, 12, QTY_DECIMAL_SI },
		{ "P", 10, 15, QTY_DECIMAL_SI }, { "E", 10, 18, QTY_DECIMAL_SI },
		{ "Ki", 2, 10, QTY_BINARY_SI },  { "Mi", 2, 20, QTY_BINARY_SI },
		{ "Gi", 2, 30, QTY_BINARY_SI },  { "Ti", 2, 40, QTY_BINARY_SI },
		{ "Pi", 2, 50, QTY_BINARY_SI },  { "Ei", 2, 60, QTY_BINARY_SI },
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (strlen(table[i].s) == n && memcmp(table[i].s, s, n) == 0) {
			*base = table[i].base;
			*exp = table[i].exp;
			*f = table[i].f;
			return true;
		}
	if (n > 1 && (s[0] == 'e' || s[0] == 'E')) {
		/* Go's ParseInt: optional sign, digits, no overflow. */
		size_t i = 1;
		bool neg = false;
		uint64_t v = 0;
		if (s[i] == '+' || s[i] == '-')
			neg = s[i++] == '-';
		if (i == n)
			return false;
		for (; i < n; i++) {
			if (!is_digit(s[i]) || v > (uint64_t)INT64_MAX / 10)
				return false;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
		if (v > (uint64_t)INT64_MAX)
			return false;
		*base = 10;
		*exp = neg ? -(int64_t)v : (int64_t)v;
		*f = QTY_DECIMAL_EXPONENT;
		return true;
	}
	return false;
}

/*
 * Turns digits D (no leading zeros) with the decimal point after position p
 * (p may be negative or past the end) into capped units and nanos rounded up.
 */
static void digits_to_qty(const char *d, size_t nd, int64_t p, struct qty *q)
{
	q->units = 0;
	q->nanos = 0;
	if (nd == 0)
		return;
	if (p > 19) {
		q->units = QTY_MAX_UNITS;
		return;
	}
	uint64_t units = 0;
	for (int64_t i = 0; i < p; i++) {
		unsigned dig = (size_t)i < nd ? (unsigned)(d[i] - '0') : 0;
		/* 19 digits fit in uint64 without overflow (max 9999999999999999999). */
		units = units * 10 + dig;
	}
	uint32_t nanos = 0;
	for (int64_t k = 0; k < 9; k++) {
		int64_t i = p + k;
		unsigned dig = (i >= 0 && (size_t)i < nd) ? (unsigned)(d[i] - '0') : 0;
		nanos = nanos * 10 + dig;
	}
	/* Anything below a nano rounds up, so a non-zero request never becomes zero. */
	int64_t from = p + 9 < 0 ? 0 : p + 9;
	for (int64_t i = from; (size_t)i < nd; i++)
		if (d[i] != '0') {
			nanos++;
			break;
		}
	if (nanos == NANO) {
		nanos = 0;
		units++;
	}
	if (units > QTY_MAX_UNITS || (units == QTY_MAX_UNITS && nanos)) {
		units = QTY_MAX_UNITS;
		nanos = 0;
	}
	q->units = units;
	q->nanos = nanos;
}

int qty_parse(const char *s, struct qty *q, struct err *e)
{
	struct scan sc;
	int base = 10;
	int64_t exp = 0;
	enum qty_format f = QTY_DECIMAL_SI;

	memset(q, 0, sizeof(*q));
	if (!s || !*s)
		return format_wrong(e, s ? s : "");
	if (strlen(s) > QTY_MAX_INPUT)
		return err_set(e, -EINVAL, "quantity is longer than %d characters", QTY_MAX_INPUT);
	if (!scan_quantity(s, &sc))
		return format_wrong(e, s);
	if (sc.zero_early)
		return 0;
	if (!interpret_suffix(sc.suffix ? sc.suffix : "", sc.nsuffix, &base, &exp, &f))
		return err_set(e, -EINVAL, "quantity \"%.64s\": unable to parse quantity's suffix",
		               s);

	/* All digits, integer part then fraction, without leading zeros. */
	struct buf d = { 0 };
	buf_reserve(&d, sc.nnum + sc.ndenom + 24);
	buf_add(&d, sc.num ? sc.num : "", sc.nnum);
	buf_add(&d, sc.denom ? sc.denom : "", sc.ndenom);
	int64_t point = (int64_t)sc.nnum; /* digits before the decimal point */
	if (base == 2) {
		/* Multiply the digit string by 2^exp exactly; the point stays put from the right. */
		int64_t frac = (int64_t)sc.ndenom;
		for (int64_t i = 0; i < exp; i++) {
			unsigned carry = 0;
			for (size_t j = d.len; j-- > 0;) {
				unsigned v = (unsigned)(d.data[j] - '0') * 2 + carry;
				d.data[j] = (char)('0' + v % 10);
				carry = v / 10;
			}
			if (carry) {
				buf_addc(&d, '0');
				memmove(d.data + 1, d.data, d.len - 1);
				d.data[0] = (char)('0' + carry);
			}
		}
		point = (int64_t)d.len - frac;
	} else {
		/* Keep the point arithmetic far from overflow: beyond these the result saturates anyway. */
		if (exp > 100000)
			exp = 100000;
		if (exp < -100000)
			exp = -100000;
		point += exp;
	}
	size_t lead = 0;
	while (lead < d.len && d.data[lead] == '0')
		lead++;
	digits_to_qty(d.data + lead, d.len - lead, point - (int64_t)lead, q);
	buf_free(&d);

	q->neg = sc.neg && (q->units || q->nanos);
	q->format = f;
	/* Upstream prints a binary quantity below one as decimal ("0.5Ki" is 512, not 0.5Ki). */
	if (f == QTY_BINARY_SI && q->units == 0 && q->nanos)
		q->format = QTY_DECIMAL_SI;
	return 0;
}

int qty_from_json(const cJSON *v, struct qty *q, struct err *e)
{
	if (jis_str(v))
		return qty_parse(v->valuestring, q, e);
	if (jis_num(v)) {
		struct buf b = { 0 };
		jnum_format(&b, v->valuedouble);
		int r = qty_parse(b.data, q, e);
		buf_free(&b);
		return r;
	}
	return err_set(e, -EINVAL, "a quantity must be a string or a number, not a %s",
	               jtype_name(v));
}

bool qty_is_zero(const struct qty *q)
{
	return q->units == 0 && q->nanos == 0;
}

char *qty_format(const struct qty *q, char out[QTY_STR_MAX])
{
	static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	static const char *const dec[] = { "n", "u", "m", "", "k", "M", "G", "T", "P", "E" };
	const char *sign = q->neg ? "-" : "";

	if (qty_is_zero(q)) {
		snprintf(out, QTY_STR_MAX, "0");
		return out;
	}
	enum qty_format f = q->format;
	if (f == QTY_BINARY_SI && (q->units < 1024 || q->nanos)) {
		/* Small or fractional binary amounts print exactly in decimal. */
		f = QTY_DECIMAL_SI;
	}
	if (f == QTY_BINARY_SI) {
		uint64_t v = q->units;
		int k = 0;
		while (k < 6 && v % 1024 == 0) {
			v /= 1024;
			k++;
		}
		snprintf(out, QTY_STR_MAX, "%s%llu%s", sign, (unsigned long long)v, bin[k]);
		return out;
	}
	/* Mantissa digits and a base-10 exponent that is a multiple of three, as large as exact. */
	char digits[40];
	int n = snprintf(digits, sizeof(digits), "%llu%09u", (unsigned long long)q->units,
	                 (unsigned)q->nanos);
	int exp = -9;
	char *d = digits;
	while (*d == '0' && d[1])
		d++, n--;
	while (n > 1 && d[n - 1] == '0') {
		d[--n] = '\0';
		exp++;
	}
	while (((exp % 3) + 3) % 3 != 0) {
		d[n++] = '0';
		d[n] = '\0';
		exp--;
	}
	if (f == QTY_DECIMAL_EXPONENT) {
		if (exp == 0)
			snprintf(out, QTY_STR_MAX, "%s%s", sign, d);
		else
			snprintf(out, QTY_STR_MAX, "%s%se%d", sign, d, exp);
		return out;
	}
	snprintf(out, QTY_STR_MAX, "%s%s%s", sign, d, dec[(exp + 9) / 3]);
	return out;
}

/* Compares magnitudes. */
static int mag_cmp(uint64_t au, uint32_t an, uint64_t bu, uint32_t bn)
{
	if (au != bu)
		return au < bu ? -1 : 1;
	if (an != bn)
		return an < bn ? -1 : 1;
	return 0;
}

int qty_cmp(const struct qty *a, const struct qty *b)
{
	bool an = a->neg && !qty_is_zero(a), bn = b->neg && !qty_is_zero(b);
	if (an != bn)
		return an ? -1 : 1;
	int c = mag_cmp(a->units, a->nanos, b->units, b->nanos);
	return an ? -c : c;
}

/* a + (negate ? -b : b), exactly, or -ERANGE past the cap. */
static int add_signed(struct qty *a, const struct qty *b, bool negate)
{
	bool bneg = b->neg != negate;
	struct qty r = *a;
	if (qty_is_zero(a))
		r.format = b->format;
	if (qty_is_zero(b))
		return 0;
	if (qty_is_zero(a) || a->neg == bneg) {
		uint64_t u = a->units + b->units;
		uint32_t ns = a->nanos + b->nanos;
		if (u < a->units)
			return -ERANGE;
		if (ns >= NANO) {
			ns -= NANO;
			if (++u == 0)
				return -ERANGE;
		}
		if (u > QTY_MAX_UNITS || (u == QTY_MAX_UNITS && ns))
			return -ERANGE;
		r.units = u;
		r.nanos = ns;
		r.neg = bneg;
	} else {
		/* Opposite signs: the larger magnitude wins the sign. */
		const struct qty *big = a, *small = b;
		bool neg = a->neg;
		if (mag_cmp(a->units, a->nanos, b->units, b->nanos) < 0) {
			big = b;
			small = a;
			neg = bneg;
		}
		uint64_t u = big->units - small->units;
		uint32_t ns;
		if (big->nanos >= small->nanos) {
			ns = big->nanos - small->nanos;
		} else {
			ns = big->nanos + NANO - small->nanos;
			u--;
		}
		r.units = u;
		r.nanos = ns;
		r.neg = neg && (u || ns);
	}
	*a = r;
	return 0;
}

int qty_add(struct qty *a, const struct qty *b)
{
	return add_signed(a, b, false);
}

int qty_sub(struct qty *a, const struct qty *b)
{
	return add_signed(a, b, true);
}

int qty_value(const struct qty *q, int64_t *out)
{
	uint64_t m = q->units + (q->nanos ? 1 : 0);
	if (m > (uint64_t)INT64_MAX)
		return -ERANGE;
	*out = q->neg ? -(int64_t)m : (int64_t)m;
	return 0;
}

int qty_milli(const struct qty *q, int64_t *out)
{
	if (q->units > (uint64_t)INT64_MAX / 1000)
		return -ERANGE;
	uint64_t m = q->units * 1000 + q->nanos / 1000000 + (q->nanos % 1000000 ? 1 : 0);
	if (m > (uint64_t)INT64_MAX)
		return -ERANGE;
	*out = q->neg ? -(int64_t)m : (int64_t)m;
	return 0;
}

void qty_from_int(struct qty *q, int64_t v, enum qty_format f)
{
	q->neg = v < 0;
	q->units = v < 0 ? (v == INT64_MIN ? QTY_MAX_UNITS : (uint64_t)-v) : (uint64_t)v;
	q->nanos = 0;
	q->format = f;
}

void qty_from_milli(struct qty *q, int64_t milli, enum qty_format f)
{
	uint64_t m = milli < 0 ? (milli == INT64_MIN ? (uint64_t)INT64_MAX : (uint64_t)-milli)
	                       : (uint64_t)milli;
	q->neg = milli < 0;
	q->units = m / 1000;
	q->nanos = (uint32_t)(m % 1000) * 1000000u;
	q->format = f;
}
