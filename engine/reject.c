/*
 * reject.c — names of reject reasons and the byte-level row checks that the
 * CSV and JSONL readers share.
 *
 * The names are part of the output contract (rejects file, run report,
 * stored run log), so they are spelled out here once and never derived from
 * the enum order.
 *
 * The text check runs on every row that may contain non-ASCII bytes, so it
 * is written for the common case: customer exports are overwhelmingly ASCII,
 * so it skips ASCII 16 bytes at a time (SSE2, which every x86-64 has) or 8
 * at a time (portable SWAR) and only decodes multi-byte sequences one by one.
 * The decoder follows Unicode's table of well-formed byte sequences (Table
 * 3-7), which rules out overlong forms, UTF-16 surrogates and values above
 * U+10FFFF without computing code points.
 */
#include "reject.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

const char *uf_reject_reason_name(uf_reject_reason reason)
{
    switch (reason) {
    case UF_REJECT_NONE: return "none";
    case UF_REJECT_COLUMN_COUNT: return "column_count";
    case UF_REJECT_UNBALANCED_QUOTE: return "unbalanced_quote";
    case UF_REJECT_INVALID_UTF8: return "invalid_utf8";
    case UF_REJECT_FIELD_TOO_LONG: return "field_too_long";
    case UF_REJECT_NUL_BYTE: return "nul_byte";
    case UF_REJECT_JSON_SYNTAX: return "json_syntax";
    case UF_REJECT_JSON_NOT_OBJECT: return "json_not_object";
    case UF_REJECT_MISSING_KEY: return "missing_key";
    case UF_REJECT_REASON_COUNT: break;
    }
    return "unknown";
}

static inline bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/*
 * Length of the well-formed sequence starting with lead byte s[0] (>= 0x80),
 * or 0 when it is ill-formed or runs past `end`.
 */
static size_t utf8_sequence(const unsigned char *s, const unsigned char *end)
{
    size_t avail = (size_t)(end - s);
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && is_cont(s[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3)
            return 0;
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80; /* E0: no overlongs */
        unsigned char hi = c == 0xED ? 0x9F : 0xBF; /* ED: no surrogates */
        return s[1] >= lo && s[1] <= hi && is_cont(s[2]) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4)
            return 0;
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80; /* F0: no overlongs */
        unsigned char hi = c == 0xF4 ? 0x8F : 0xBF; /* F4: nothing past U+10FFFF */
        return s[1] >= lo && s[1] <= hi && is_cont(s[2]) && is_cont(s[3]) ? 4 : 0;
    }
    return 0; /* stray continuation byte, C0/C1, F5..FF */
}

/* Skip ASCII without NUL bytes; returns the first byte that needs a look. */
static const unsigned char *skip_plain_ascii(const unsigned char *s, const unsigned char *end)
{
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    while (end - s >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)s);
        int bad = _mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)));
        if (bad)
            return s + __builtin_ctz((unsigned)bad);
        s += 16;
    }
#else
    while (end - s >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        uint64_t has_zero = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
        if ((w & 0x8080808080808080ULL) | has_zero)
            break;
        s += 8;
    }
#endif
    while (s < end && *s != 0 && *s < 0x80)
        s++;
    return s;
}

uf_reject_reason uf_reject_check_text(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    const unsigned char *end = s + len;
    bool utf8_ok = true;
    while (s < end) {
        s = skip_plain_ascii(s, end);
        if (s == end)
            break;
        if (*s == 0)
            return UF_REJECT_NUL_BYTE; /* wins over bad UTF-8: it is the more specific fault */
        size_t n = utf8_sequence(s, end);
        if (n == 0) {
            utf8_ok = false;
            n = 1;
            if (!memchr(s, 0, (size_t)(end - s)))
                break; /* no NUL anywhere after: the answer is known */
        }
        s += n;
    }
    return utf8_ok ? UF_REJECT_NONE : UF_REJECT_INVALID_UTF8;
}
