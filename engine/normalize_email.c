/*
 * normalize_email.c — e-mail addresses to one canonical spelling per mailbox.
 *
 * The idea: an address is an identifier only if two records holding the same
 * mailbox produce the same bytes. So: trim, drop a "mailto:" prefix and
 * enclosing <>, lower-case everything (local parts are case-sensitive in
 * theory, in practice no provider treats them so), then apply the provider
 * rules that make several spellings one mailbox:
 *   - gmail.com / googlemail.com: dots in the local part and "+tag" are
 *     ignored, and googlemail.com is gmail.com;
 *   - the other large providers that support sub-addressing (Outlook/Hotmail,
 *     iCloud, Proton, Fastmail, ...): "+tag" is ignored.
 * Yahoo's "-keyword" disposable addresses are not folded: "-" is common in
 * ordinary local parts.
 *
 * Shape: exactly one "@"; a dot-atom local part of at most 64 bytes (letters,
 * digits and !#$%&'*+-/=?^_`{|}~, dots not leading, trailing or doubled); a
 * domain of at least two labels (letters, digits, inner hyphens, at most 63
 * bytes each), a top-level label of letters (or an IDNA "xn--" label); at
 * most 254 bytes in all. A single trailing dot on the domain is dropped.
 * Quoted local parts, IP-literal domains and raw (non-ASCII) international
 * addresses are UF_NORM_INVALID: they are vanishingly rare in customer
 * exports, and comparing them properly would need IDNA.
 *
 * Junk (UF_NORM_JUNK): placeholder domains (example.com, test.com, ...,
 * reserved TLDs .test .invalid .example .localhost), placeholder local parts
 * (test, noemail, noreply, none, unknown, ...), and the keyboard-mash shape
 * where local part and domain name are each one repeated character
 * (a@a.com, xxx@xxx.com, a@b.com). Everything else junk-like is left to the
 * configurable blocklist and to frequency detection.
 *
 * Pure and allocation-free: one pass lower-cases into the output and checks
 * the shape on the way (a class table per byte, labels checked at each dot),
 * then one table look-up of the domain decides the provider rules and the
 * junk domains.
 */
#include "normalize.h"


#define EMAIL_MAX 254
#define LOCAL_MAX 64
#define LABEL_MAX 63

static inline bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/*
 * Byte classes of the shape check, for the byte as typed (upper-case letters
 * count as their lower-case). C_LOCAL: allowed in the local part (atext and
 * "."); C_DOMAIN: allowed in the domain (letters, digits, "-", "."); C_ALPHA:
 * a letter. Everything else — non-ASCII, spaces, controls, NUL, "@" — has no
 * class.
 */
enum { C_LOCAL = 1, C_DOMAIN = 2, C_ALPHA = 4 };
#define LETTER(c) [c] = C_LOCAL | C_DOMAIN | C_ALPHA, [(c) - 32] = C_LOCAL | C_DOMAIN | C_ALPHA
#define DIGIT(c) [c] = C_LOCAL | C_DOMAIN
#define ATEXT(c) [c] = C_LOCAL
static const unsigned char email_class[256] = {
    LETTER('a'), LETTER('b'), LETTER('c'), LETTER('d'), LETTER('e'), LETTER('f'), LETTER('g'),
    LETTER('h'), LETTER('i'), LETTER('j'), LETTER('k'), LETTER('l'), LETTER('m'), LETTER('n'),
    LETTER('o'), LETTER('p'), LETTER('q'), LETTER('r'), LETTER('s'), LETTER('t'), LETTER('u'),
    LETTER('v'), LETTER('w'), LETTER('x'), LETTER('y'), LETTER('z'),
    DIGIT('0'), DIGIT('1'), DIGIT('2'), DIGIT('3'), DIGIT('4'), DIGIT('5'), DIGIT('6'),
    DIGIT('7'), DIGIT('8'), DIGIT('9'), DIGIT('-'), DIGIT('.'),
    ATEXT('!'), ATEXT('#'), ATEXT('$'), ATEXT('%'), ATEXT('&'), ATEXT('\''), ATEXT('*'),
    ATEXT('+'), ATEXT('/'), ATEXT('='), ATEXT('?'), ATEXT('^'), ATEXT('_'), ATEXT('`'),
    ATEXT('{'), ATEXT('|'), ATEXT('}'), ATEXT('~'),
};
#undef LETTER
#undef DIGIT
#undef ATEXT

/* Word lists below are sorted in byte order (binary search); keep them so. */

/* What the domain table says about a domain. */
enum {
    D_GMAIL = 1,     /* dots and "+tag" ignored, the domain is gmail.com */
    D_PLUS_TAGS = 2, /* "+tag" ignored */
    D_JUNK = 4,      /* placeholder domain */
};

typedef struct domain_rule {
    uf_word domain;
    unsigned flags;
} domain_rule;

/* Providers with sub-addressing and placeholder domains, in one table: one search per address. */
static const domain_rule domain_rules[] = {
    {UF_WORD("domain.com"), D_JUNK},
    {UF_WORD("email.invalid"), D_JUNK},
    {UF_WORD("example.com"), D_JUNK},
    {UF_WORD("example.net"), D_JUNK},
    {UF_WORD("example.org"), D_JUNK},
    {UF_WORD("fake.com"), D_JUNK},
    {UF_WORD("fastmail.com"), D_PLUS_TAGS},
    {UF_WORD("fastmail.fm"), D_PLUS_TAGS},
    {UF_WORD("gmail.com"), D_GMAIL},
    {UF_WORD("googlemail.com"), D_GMAIL},
    {UF_WORD("hey.com"), D_PLUS_TAGS},
    {UF_WORD("hotmail.co.uk"), D_PLUS_TAGS},
    {UF_WORD("hotmail.com"), D_PLUS_TAGS},
    {UF_WORD("hotmail.de"), D_PLUS_TAGS},
    {UF_WORD("hotmail.fr"), D_PLUS_TAGS},
    {UF_WORD("icloud.com"), D_PLUS_TAGS},
    {UF_WORD("invalid.com"), D_JUNK},
    {UF_WORD("live.co.uk"), D_PLUS_TAGS},
    {UF_WORD("live.com"), D_PLUS_TAGS},
    {UF_WORD("localhost.localdomain"), D_JUNK},
    {UF_WORD("mac.com"), D_PLUS_TAGS},
    {UF_WORD("mailinator.invalid"), D_JUNK},
    {UF_WORD("me.com"), D_PLUS_TAGS},
    {UF_WORD("msn.com"), D_PLUS_TAGS},
    {UF_WORD("no-email.com"), D_JUNK},
    {UF_WORD("noemail.com"), D_JUNK},
    {UF_WORD("nomail.com"), D_JUNK},
    {UF_WORD("none.com"), D_JUNK},
    {UF_WORD("noreply.com"), D_JUNK},
    {UF_WORD("null.com"), D_JUNK},
    {UF_WORD("outlook.com"), D_PLUS_TAGS},
    {UF_WORD("pm.me"), D_PLUS_TAGS},
    {UF_WORD("proton.me"), D_PLUS_TAGS},
    {UF_WORD("protonmail.ch"), D_PLUS_TAGS},
    {UF_WORD("protonmail.com"), D_PLUS_TAGS},
    {UF_WORD("sample.com"), D_JUNK},
    {UF_WORD("test.com"), D_JUNK},
    {UF_WORD("test.net"), D_JUNK},
    {UF_WORD("test.org"), D_JUNK},
    {UF_WORD("unknown.com"), D_JUNK},
};

#define DOMAIN_RULE_MIN 5  /* shortest domain above */
#define DOMAIN_RULE_MAX 21 /* longest domain above */

static const uf_word junk_tlds[] = {
    UF_WORD("example"), UF_WORD("invalid"), UF_WORD("local"), UF_WORD("localhost"),
    UF_WORD("test"),
};

#define JUNK_TLD_MIN 4 /* shortest word above */
#define JUNK_TLD_MAX 9 /* longest word above */

static const uf_word junk_locals[] = {
    UF_WORD("abc"), UF_WORD("asdf"), UF_WORD("declined"), UF_WORD("do-not-reply"),
    UF_WORD("donotreply"), UF_WORD("dontreply"), UF_WORD("dummy"), UF_WORD("email"),
    UF_WORD("fake"), UF_WORD("na"), UF_WORD("nil"), UF_WORD("no-email"), UF_WORD("no-mail"),
    UF_WORD("no-one"), UF_WORD("no-reply"), UF_WORD("no_email"), UF_WORD("no_reply"),
    UF_WORD("noaddress"), UF_WORD("nobody"), UF_WORD("noemail"), UF_WORD("nomail"),
    UF_WORD("none"), UF_WORD("noone"), UF_WORD("noreply"), UF_WORD("not-provided"),
    UF_WORD("notprovided"), UF_WORD("null"), UF_WORD("qwerty"), UF_WORD("refused"),
    UF_WORD("sample"), UF_WORD("test"), UF_WORD("tester"), UF_WORD("testing"), UF_WORD("unknown"),
    UF_WORD("void"), UF_WORD("xyz"),
};

#define JUNK_LOCAL_MAX 12 /* longest word above */

static unsigned domain_flags(const char *d, size_t n)
{
    if (n == 9 && memcmp(d, "gmail.com", 9) == 0)
        return D_GMAIL; /* a third of all addresses: no search */
    if (n < DOMAIN_RULE_MIN || n > DOMAIN_RULE_MAX)
        return 0;
    ptrdiff_t i = uf_word_search(d, n, domain_rules, UF_ARRAY_LEN(domain_rules),
                                 sizeof domain_rules[0]);
    return i < 0 ? 0 : domain_rules[i].flags;
}

static bool all_same_char(const char *p, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (p[i] != p[0])
            return false;
    return n > 0;
}

/* A domain label [from, to) of the lower-cased output: 1..63 bytes, no "-" at either end. */
static inline bool label_bad(const char *d, size_t from, size_t to)
{
    return to == from || to - from > LABEL_MAX || d[from] == '-' || d[to - 1] == '-';
}

uf_norm_status uf_normalize_email(uf_slice in, char *out, size_t *out_len)
{
    *out_len = 0;
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t s = 0, e = p ? in.len : 0;
    while (s < e && is_space(p[s]))
        s++;
    while (e > s && is_space(p[e - 1]))
        e--;
    if (s == e)
        return UF_NORM_EMPTY;
    if (e - s > UF_NORM_INPUT_MAX)
        return UF_NORM_INVALID;
    if (e - s >= 7 && lower(p[s]) == 'm' && lower(p[s + 1]) == 'a' && lower(p[s + 2]) == 'i' &&
        lower(p[s + 3]) == 'l' && lower(p[s + 4]) == 't' && lower(p[s + 5]) == 'o' &&
        p[s + 6] == ':')
        s += 7;
    if (e - s >= 2 && p[s] == '<' && p[e - 1] == '>') {
        s++;
        e--;
    }
    while (s < e && is_space(p[s]))
        s++;
    while (e > s && is_space(p[e - 1]))
        e--;
    if (s == e)
        return UF_NORM_EMPTY;
    if (e - s > EMAIL_MAX + 1) /* +1: a trailing dot may still be dropped */
        return UF_NORM_INVALID;

    /*
     * Lower-case into out (fits: at most EMAIL_MAX + 1 < UF_NORM_MAX bytes),
     * checking the shape on the way. Every failure is UF_NORM_INVALID, so the
     * checks are folded into flags and looked at once per part.
     */
    const unsigned char *q = p + s;
    size_t n = e - s;

    /* Local part: atext and dots, dots not leading, trailing or doubled. */
    unsigned ok = C_LOCAL;
    bool dots = false, double_dot = false, prev_dot = false;
    size_t at = 0;
    for (; at < n && q[at] != '@'; at++) {
        unsigned char c = q[at];
        ok &= email_class[c];
        bool dot = c == '.';
        double_dot |= dot & prev_dot;
        dots |= dot;
        prev_dot = dot;
        out[at] = (char)lower(c);
    }
    if (at == n || at == 0 || at > LOCAL_MAX || !ok || double_dot || out[0] == '.' ||
        out[at - 1] == '.')
        return UF_NORM_INVALID;
    out[at] = '@';

    /* Domain: at least two labels; a single trailing dot is dropped (it is a domain byte). */
    size_t d0 = at + 1, end = n;
    if (end > d0 && q[end - 1] == '.')
        end--;
    size_t domain_len = end - d0;
    if (domain_len == 0 || domain_len > 253 || at + 1 + domain_len > EMAIL_MAX)
        return UF_NORM_INVALID;
    ok = C_DOMAIN;
    bool bad = false;
    size_t label = d0, first_dot = 0;
    for (size_t i = d0; i < end; i++) {
        unsigned char c = q[i];
        ok &= email_class[c]; /* a second "@" has no class */
        out[i] = (char)lower(c);
        if (c == '.') {
            bad |= label_bad(out, label, i);
            if (!first_dot)
                first_dot = i;
            label = i + 1;
        }
    }
    if (!ok || bad || !first_dot || label_bad(out, label, end))
        return UF_NORM_INVALID;
    /* Top-level label: letters only, or an IDNA "xn--" label. */
    const char *tld = out + label;
    size_t tld_len = end - label;
    if (!(tld_len >= 4 && memcmp(tld, "xn--", 4) == 0)) {
        if (tld_len < 2)
            return UF_NORM_INVALID;
        for (size_t i = 0; i < tld_len; i++)
            if (!(email_class[(unsigned char)tld[i]] & C_ALPHA))
                return UF_NORM_INVALID;
    }

    /* Provider rules rewrite the local part in place (it only shrinks). */
    char *local = out;
    size_t local_len = at;
    char *domain = out + d0;
    unsigned flags = domain_flags(domain, domain_len);
    if (flags & (D_GMAIL | D_PLUS_TAGS)) {
        const char *plus = memchr(local, '+', local_len);
        size_t w = plus ? (size_t)(plus - local) : local_len;
        if ((flags & D_GMAIL) && dots) {
            size_t k = 0;
            for (size_t i = 0; i < w; i++)
                if (local[i] != '.')
                    local[k++] = local[i];
            w = k;
        }
        if (w == 0)
            return UF_NORM_INVALID;
        local_len = w;
    }
    size_t tld_off = label - d0, first_label = first_dot - d0;
    if (flags & D_GMAIL) {
        memcpy(local + local_len, "@gmail.com", 10);
        domain = local + local_len + 1;
        domain_len = 9;
        tld_off = 6;
        first_label = 5;
    } else if (domain != local + local_len + 1) {
        local[local_len] = '@';
        memmove(local + local_len + 1, domain, domain_len);
        domain = local + local_len + 1;
    }

    /* Junk. Known providers are neither junk domains nor under a junk TLD. */
    if (flags & D_JUNK)
        return UF_NORM_JUNK;
    if (!(flags & (D_GMAIL | D_PLUS_TAGS)) && tld_len >= JUNK_TLD_MIN && tld_len <= JUNK_TLD_MAX &&
        uf_word_in_sorted(domain + tld_off, tld_len, junk_tlds, UF_ARRAY_LEN(junk_tlds)))
        return UF_NORM_JUNK;
    if ((local_len <= JUNK_LOCAL_MAX &&
         uf_word_in_sorted(local, local_len, junk_locals, UF_ARRAY_LEN(junk_locals))) ||
        (all_same_char(local, local_len) && all_same_char(domain, first_label)))
        return UF_NORM_JUNK;
    *out_len = local_len + 1 + domain_len;
    return UF_NORM_OK;
}
