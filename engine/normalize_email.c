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
 * Pure and allocation-free: one pass to validate, one to write.
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

static inline bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_atext(unsigned char c)
{
    if (is_alnum(c))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
        return true;
    default:
        return false;
    }
}

static bool slice_eq(const char *p, size_t n, const char *lit, size_t lit_len)
{
    return n == lit_len && memcmp(p, lit, n) == 0;
}

/* Word lists below are sorted in byte order (binary search); keep them so. */

/* Providers that ignore "+tag" (gmail handled separately). */
static const uf_word plus_tag_domains[] = {
    UF_WORD("fastmail.com"), UF_WORD("fastmail.fm"), UF_WORD("hey.com"), UF_WORD("hotmail.co.uk"),
    UF_WORD("hotmail.com"), UF_WORD("hotmail.de"), UF_WORD("hotmail.fr"), UF_WORD("icloud.com"),
    UF_WORD("live.co.uk"), UF_WORD("live.com"), UF_WORD("mac.com"), UF_WORD("me.com"),
    UF_WORD("msn.com"), UF_WORD("outlook.com"), UF_WORD("pm.me"), UF_WORD("proton.me"),
    UF_WORD("protonmail.ch"), UF_WORD("protonmail.com"),
};

static const uf_word junk_domains[] = {
    UF_WORD("domain.com"), UF_WORD("email.invalid"), UF_WORD("example.com"),
    UF_WORD("example.net"), UF_WORD("example.org"), UF_WORD("fake.com"), UF_WORD("invalid.com"),
    UF_WORD("localhost.localdomain"), UF_WORD("mailinator.invalid"), UF_WORD("no-email.com"),
    UF_WORD("noemail.com"), UF_WORD("nomail.com"), UF_WORD("none.com"), UF_WORD("noreply.com"),
    UF_WORD("null.com"), UF_WORD("sample.com"), UF_WORD("test.com"), UF_WORD("test.net"),
    UF_WORD("test.org"), UF_WORD("unknown.com"),
};

static const uf_word junk_tlds[] = {
    UF_WORD("example"), UF_WORD("invalid"), UF_WORD("local"), UF_WORD("localhost"),
    UF_WORD("test"),
};

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

static bool all_same_char(const char *p, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (p[i] != p[0])
            return false;
    return n > 0;
}

/* Validate a lower-cased domain. */
static bool domain_valid(const char *d, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t labels = 0, label_start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || d[i] == '.') {
            size_t len = i - label_start;
            if (len == 0 || len > LABEL_MAX)
                return false;
            if (d[label_start] == '-' || d[i - 1] == '-')
                return false;
            labels++;
            label_start = i + 1;
            continue;
        }
        unsigned char c = (unsigned char)d[i];
        if (!is_alnum(c) && c != '-')
            return false;
    }
    if (labels < 2)
        return false;
    /* Top-level label: letters only, or an IDNA "xn--" label. */
    size_t tld_start = n;
    while (d[tld_start - 1] != '.')
        tld_start--;
    const char *tld = d + tld_start;
    size_t tld_len = n - tld_start;
    if (tld_len >= 4 && memcmp(tld, "xn--", 4) == 0)
        return true;
    if (tld_len < 2)
        return false;
    for (size_t i = 0; i < tld_len; i++)
        if (!(tld[i] >= 'a' && tld[i] <= 'z'))
            return false;
    return true;
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

    /* Lower-case into out (fits: at most EMAIL_MAX + 1 < UF_NORM_MAX bytes). */
    size_t n = e - s;
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = lower(p[s + i]);
        if (c == '@') {
            if (at != SIZE_MAX)
                return UF_NORM_INVALID;
            at = i;
        } else if (c >= 0x80 || c <= 0x20 || c == 0x7f) {
            return UF_NORM_INVALID; /* non-ASCII, spaces, controls, NUL */
        }
        out[i] = (char)c;
    }
    if (at == SIZE_MAX || at == 0)
        return UF_NORM_INVALID;

    char *local = out;
    size_t local_len = at;
    char *domain = out + at + 1;
    size_t domain_len = n - at - 1;
    if (domain_len > 0 && domain[domain_len - 1] == '.')
        domain_len--;
    if (local_len > LOCAL_MAX || local_len + 1 + domain_len > EMAIL_MAX ||
        !domain_valid(domain, domain_len))
        return UF_NORM_INVALID;
    for (size_t i = 0; i < local_len; i++) {
        unsigned char c = (unsigned char)local[i];
        if (c == '.') {
            if (i == 0 || i + 1 == local_len || local[i + 1] == '.')
                return UF_NORM_INVALID;
        } else if (!is_atext(c)) {
            return UF_NORM_INVALID;
        }
    }

    /* Provider rules rewrite the local part in place (it only shrinks). */
    bool gmail = slice_eq(domain, domain_len, "gmail.com", 9) ||
                 slice_eq(domain, domain_len, "googlemail.com", 14);
    bool plus_tags = gmail || uf_word_in_sorted(domain, domain_len, plus_tag_domains,
                                                UF_ARRAY_LEN(plus_tag_domains));
    if (plus_tags) {
        size_t w = 0;
        for (size_t i = 0; i < local_len; i++) {
            if (local[i] == '+')
                break;
            if (gmail && local[i] == '.')
                continue;
            local[w++] = local[i];
        }
        if (w == 0)
            return UF_NORM_INVALID;
        local_len = w;
    }
    if (gmail) {
        memcpy(local + local_len, "@gmail.com", 10);
        domain = local + local_len + 1;
        domain_len = 9;
    } else if (domain != local + local_len + 1) {
        local[local_len] = '@';
        memmove(local + local_len + 1, domain, domain_len);
        domain = local + local_len + 1;
    }

    /* Junk. */
    size_t tld_start = domain_len;
    while (tld_start > 0 && domain[tld_start - 1] != '.')
        tld_start--;
    size_t first_label = 0;
    while (first_label < domain_len && domain[first_label] != '.')
        first_label++;
    if (uf_word_in_sorted(domain, domain_len, junk_domains, UF_ARRAY_LEN(junk_domains)) ||
        uf_word_in_sorted(domain + tld_start, domain_len - tld_start, junk_tlds,
                          UF_ARRAY_LEN(junk_tlds)) ||
        uf_word_in_sorted(local, local_len, junk_locals, UF_ARRAY_LEN(junk_locals)) ||
        (all_same_char(local, local_len) && all_same_char(domain, first_label)))
        return UF_NORM_JUNK;
    *out_len = local_len + 1 + domain_len;
    return UF_NORM_OK;
}
