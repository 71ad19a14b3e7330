/*
 * normalize_name.c — person names: one name part, and full names split into
 * first and last name.
 *
 * The idea: names are compared, not just matched, so the normal form keeps
 * every letter that carries identity and drops what only carries formatting.
 * Both functions start from uf_fold_text (NFKC, case-fold, accents stripped,
 * punctuation to spaces). Apostrophes are deleted rather than spaced
 * ("O'Brien", "O’Brien" and "OBrien" all become "obrien"), hyphens separate
 * words ("Jean-Luc" -> "jean luc"), so a hyphen typed or left out gives the
 * same words.
 *
 * Words around the name:
 *  - Leading titles (mr, mrs, ms, miss, mx, dr, prof, sir, rev, ...) and
 *    trailing suffixes (jr, sr, ii, iii, iv, phd, "ph d", md, esq, ...) are
 *    removed when something else is left; alone they are junk.
 *  - Placeholder words (unknown, fnu, lnu, test, dummy, anonymous, ...) are
 *    removed wherever they stand; a name made only of them is junk, as are
 *    placeholder phrases such as "n/a", "no name", "first name".
 *
 * Full names:
 *  - "LAST, First Middle" when a comma separates two non-empty parts, unless
 *    what follows the comma is only suffixes ("John Smith, Jr.").
 *  - Otherwise "First Middle Last". The last name is the last word plus the
 *    surname particles just before it ("Ludwig van Beethoven" -> last
 *    "van beethoven", "Maria de la Cruz" -> "de la cruz"); middle names are
 *    dropped. A hyphenated word stays one word ("Mary-Jane Smith-Jones" ->
 *    "mary jane" / "smith jones"), matching uf_normalize_name on each part.
 *  - One word is the last name; the first name comes back empty.
 *  - Known limit: two unhyphenated surnames in "First Last1 Last2" order
 *    (Spanish "Gabriel García Márquez") keep only the final one; there is
 *    no way to tell them from a middle name without a surname dictionary.
 *
 * Allocation-free: words are (offset, length) pairs into one stack buffer.
 */
#include "normalize.h"

#define MAX_WORDS (UF_NORM_MAX / 2 + 1)

/* What a word is, besides part of a name. */
enum {
    W_TITLE = 1,       /* mr, dr, prof, ... (stripped at the start) */
    W_SUFFIX = 2,      /* jr, iii, phd, ... (stripped at the end) */
    W_PLACEHOLDER = 4, /* unknown, fnu, test, ... (stripped anywhere) */
    W_PARTICLE = 8,    /* van, de, la, ... (belong to the surname that follows) */
};

typedef struct word {
    uint16_t off;
    uint16_t len;
    unsigned flags;
} word;

typedef struct words {
    char text[UF_NORM_MAX];
    size_t text_len;
    word w[MAX_WORDS];
    size_t n;
    size_t comma;        /* index of the first word after the first comma, or SIZE_MAX */
    size_t second_comma; /* same for a second comma */
} words;

typedef struct name_word {
    uf_word word;
    unsigned flags;
} name_word;

/* Sorted by word (byte order); binary-searched once per word. */
static const name_word name_words[] = {
    {UF_WORD("al"), W_PARTICLE},
    {UF_WORD("anon"), W_PLACEHOLDER},
    {UF_WORD("anonymous"), W_PLACEHOLDER},
    {UF_WORD("asdf"), W_PLACEHOLDER},
    {UF_WORD("bin"), W_PARTICLE},
    {UF_WORD("binti"), W_PARTICLE},
    {UF_WORD("bsc"), W_SUFFIX},
    {UF_WORD("cpa"), W_SUFFIX},
    {UF_WORD("customer"), W_PLACEHOLDER},
    {UF_WORD("da"), W_PARTICLE},
    {UF_WORD("dame"), W_TITLE},
    {UF_WORD("das"), W_PARTICLE},
    {UF_WORD("dds"), W_SUFFIX},
    {UF_WORD("de"), W_PARTICLE},
    {UF_WORD("del"), W_PARTICLE},
    {UF_WORD("della"), W_PARTICLE},
    {UF_WORD("den"), W_PARTICLE},
    {UF_WORD("der"), W_PARTICLE},
    {UF_WORD("di"), W_PARTICLE},
    {UF_WORD("do"), W_PARTICLE},
    {UF_WORD("dos"), W_PARTICLE},
    {UF_WORD("dott"), W_TITLE},
    {UF_WORD("dr"), W_TITLE},
    {UF_WORD("du"), W_PARTICLE},
    {UF_WORD("dummy"), W_PLACEHOLDER},
    {UF_WORD("dvm"), W_SUFFIX},
    {UF_WORD("el"), W_PARTICLE},
    {UF_WORD("esq"), W_SUFFIX},
    {UF_WORD("fnu"), W_PLACEHOLDER},
    {UF_WORD("fr"), W_TITLE},
    {UF_WORD("frau"), W_TITLE},
    {UF_WORD("fru"), W_TITLE},
    {UF_WORD("guest"), W_PLACEHOLDER},
    {UF_WORD("herr"), W_TITLE},
    {UF_WORD("hr"), W_TITLE},
    {UF_WORD("ibn"), W_PARTICLE},
    {UF_WORD("ii"), W_SUFFIX},
    {UF_WORD("iii"), W_SUFFIX},
    {UF_WORD("ing"), W_TITLE},
    {UF_WORD("iv"), W_SUFFIX},
    {UF_WORD("jnr"), W_SUFFIX},
    {UF_WORD("jr"), W_SUFFIX},
    {UF_WORD("junior"), W_SUFFIX},
    {UF_WORD("la"), W_PARTICLE},
    {UF_WORD("lady"), W_TITLE},
    {UF_WORD("le"), W_PARTICLE},
    {UF_WORD("lnu"), W_PLACEHOLDER},
    {UF_WORD("lord"), W_TITLE},
    {UF_WORD("madam"), W_TITLE},
    {UF_WORD("madame"), W_TITLE},
    {UF_WORD("mba"), W_SUFFIX},
    {UF_WORD("md"), W_SUFFIX},
    {UF_WORD("miss"), W_TITLE},
    {UF_WORD("mlle"), W_TITLE},
    {UF_WORD("mme"), W_TITLE},
    {UF_WORD("mr"), W_TITLE},
    {UF_WORD("mrs"), W_TITLE},
    {UF_WORD("ms"), W_TITLE},
    {UF_WORD("msc"), W_SUFFIX},
    {UF_WORD("mx"), W_TITLE},
    {UF_WORD("nfn"), W_PLACEHOLDER},
    {UF_WORD("nil"), W_PLACEHOLDER},
    {UF_WORD("nmn"), W_PLACEHOLDER},
    {UF_WORD("nobody"), W_PLACEHOLDER},
    {UF_WORD("noname"), W_PLACEHOLDER},
    {UF_WORD("none"), W_PLACEHOLDER},
    {UF_WORD("null"), W_PLACEHOLDER},
    {UF_WORD("phd"), W_SUFFIX},
    {UF_WORD("prof"), W_TITLE},
    {UF_WORD("professor"), W_TITLE},
    {UF_WORD("qwerty"), W_PLACEHOLDER},
    {UF_WORD("rev"), W_TITLE},
    {UF_WORD("revd"), W_TITLE},
    {UF_WORD("reverend"), W_TITLE},
    {UF_WORD("rn"), W_SUFFIX},
    {UF_WORD("sample"), W_PLACEHOLDER},
    {UF_WORD("senior"), W_SUFFIX},
    {UF_WORD("sir"), W_TITLE},
    {UF_WORD("snr"), W_SUFFIX},
    {UF_WORD("sr"), W_TITLE | W_SUFFIX},
    {UF_WORD("sra"), W_TITLE},
    {UF_WORD("srta"), W_TITLE},
    {UF_WORD("st"), W_PARTICLE},
    {UF_WORD("ste"), W_PARTICLE},
    {UF_WORD("tba"), W_PLACEHOLDER},
    {UF_WORD("tbd"), W_PLACEHOLDER},
    {UF_WORD("ten"), W_PARTICLE},
    {UF_WORD("ter"), W_PARTICLE},
    {UF_WORD("test"), W_PLACEHOLDER},
    {UF_WORD("testing"), W_PLACEHOLDER},
    {UF_WORD("undefined"), W_PLACEHOLDER},
    {UF_WORD("unk"), W_PLACEHOLDER},
    {UF_WORD("unknown"), W_PLACEHOLDER},
    {UF_WORD("user"), W_PLACEHOLDER},
    {UF_WORD("van"), W_PARTICLE},
    {UF_WORD("von"), W_PARTICLE},
    {UF_WORD("xx"), W_PLACEHOLDER},
    {UF_WORD("xxx"), W_PLACEHOLDER},
    {UF_WORD("zu"), W_PARTICLE},
};

#define NAME_WORD_MAX 9 /* longest entry above */

static unsigned lookup_flags(const char *w, size_t n)
{
    if (n > NAME_WORD_MAX)
        return 0;
    ptrdiff_t i = uf_word_search(w, n, name_words, UF_ARRAY_LEN(name_words), sizeof name_words[0]);
    return i < 0 ? 0 : name_words[i].flags;
}

static const uf_word placeholder_phrases[] = {
    UF_WORD("first name"), UF_WORD("firstname"), UF_WORD("given name"), UF_WORD("last name"),
    UF_WORD("lastname"), UF_WORD("n a"), UF_WORD("name"), UF_WORD("no first name"),
    UF_WORD("no last name"), UF_WORD("no name"), UF_WORD("not available"), UF_WORD("not given"),
    UF_WORD("not known"), UF_WORD("not provided"), UF_WORD("surname"), UF_WORD("x"),
};

#define PHRASE_MAX 13 /* longest phrase above */

static bool word_is(const words *ws, size_t i, const char *lit, size_t n)
{
    return ws->w[i].len == n && memcmp(ws->text + ws->w[i].off, lit, n) == 0;
}

static bool word_has(const words *ws, size_t i, unsigned flags)
{
    return (ws->w[i].flags & flags) != 0;
}

/*
 * Split a folded string into words at spaces and commas. Inside a word,
 * apostrophes are deleted and hyphens become spaces.
 */
static void split_words(const char *s, size_t n, words *ws)
{
    char *text = ws->text;
    size_t text_len = 0, count = 0, comma = SIZE_MAX, second_comma = SIZE_MAX;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == ' ') {
            i++;
            continue;
        }
        if (c == ',') {
            if (comma == SIZE_MAX)
                comma = count;
            else if (second_comma == SIZE_MAX)
                second_comma = count;
            i++;
            continue;
        }
        size_t start = text_len;
        bool pending_space = false;
        for (; i < n; i++) {
            c = s[i];
            if (c == ' ' || c == ',')
                break;
            if (c == '\'')
                continue;
            if (c == '-') {
                pending_space = true;
                continue;
            }
            if (pending_space && text_len > start)
                text[text_len++] = ' ';
            pending_space = false;
            text[text_len++] = c;
        }
        if (text_len > start && count < MAX_WORDS) {
            size_t len = text_len - start;
            ws->w[count].off = (uint16_t)start;
            ws->w[count].len = (uint16_t)len;
            ws->w[count].flags = lookup_flags(text + start, len);
            count++;
        }
    }
    ws->text_len = text_len;
    ws->n = count;
    ws->comma = comma;
    ws->second_comma = second_comma;
}

/* Join words [from, to) with single spaces. */
static size_t join_words(const words *ws, size_t from, size_t to, char *out)
{
    size_t len = 0;
    for (size_t i = from; i < to; i++) {
        if (len)
            out[len++] = ' ';
        memcpy(out + len, ws->text + ws->w[i].off, ws->w[i].len);
        len += ws->w[i].len;
    }
    return len;
}

static bool is_placeholder_phrase(const words *ws)
{
    size_t total = ws->n ? ws->n - 1 : 0;
    for (size_t i = 0; i < ws->n; i++)
        total += ws->w[i].len;
    if (total > PHRASE_MAX)
        return false;
    char joined[PHRASE_MAX];
    size_t len = join_words(ws, 0, ws->n, joined);
    return uf_word_in_sorted(joined, len, placeholder_phrases, UF_ARRAY_LEN(placeholder_phrases));
}

/* Remove words [i] in place. */
static void drop_word(words *ws, size_t i)
{
    memmove(&ws->w[i], &ws->w[i + 1], (ws->n - i - 1) * sizeof ws->w[0]);
    ws->n--;
    if (ws->comma != SIZE_MAX && ws->comma > i)
        ws->comma--;
    if (ws->second_comma != SIZE_MAX && ws->second_comma > i)
        ws->second_comma--;
}

/* Words spanned by a suffix ending at `end`: 1, 2 for "ph d" / "m d", or 0. */
static size_t suffix_span(const words *ws, size_t end)
{
    if (end == 0)
        return 0;
    size_t i = end - 1;
    if (word_has(ws, i, W_SUFFIX))
        return 1;
    if (i >= 1 && word_is(ws, i, "d", 1) &&
        (word_is(ws, i - 1, "ph", 2) || word_is(ws, i - 1, "m", 1)))
        return 2;
    return 0;
}

/*
 * Clean the words [from, to) of one name: placeholders out, leading titles
 * and trailing suffixes out while another word remains. Returns the new `to`.
 */
static size_t clean_range(words *ws, size_t from, size_t to)
{
    for (size_t i = from; i < to;) {
        if (word_has(ws, i, W_PLACEHOLDER)) {
            drop_word(ws, i);
            to--;
        } else {
            i++;
        }
    }
    while (to - from > 1 && word_has(ws, from, W_TITLE)) {
        drop_word(ws, from);
        to--;
    }
    size_t span;
    while ((span = suffix_span(ws, to)) != 0 && to - from > span) {
        for (size_t k = 0; k < span; k++) {
            drop_word(ws, to - 1);
            to--;
        }
    }
    return to;
}

/* True when every word is a title, suffix or placeholder. */
static bool only_noise(const words *ws, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!word_has(ws, i, W_TITLE | W_SUFFIX | W_PLACEHOLDER))
            return false;
    return true;
}

uf_norm_status uf_normalize_name(uf_slice in, char *out, size_t *out_len)
{
    *out_len = 0;
    size_t flen = 0;
    uf_norm_status st = uf_fold_text(in, "'", out, &flen);
    if (st != UF_NORM_OK)
        return st;
    /* Fast path: one word without apostrophes (most first and last names). */
    if (!memchr(out, ' ', flen) && !memchr(out, '\'', flen)) {
        if ((lookup_flags(out, flen) & (W_TITLE | W_SUFFIX | W_PLACEHOLDER)) ||
            (flen <= PHRASE_MAX &&
             uf_word_in_sorted(out, flen, placeholder_phrases, UF_ARRAY_LEN(placeholder_phrases))))
            return UF_NORM_JUNK;
        *out_len = flen;
        return UF_NORM_OK;
    }
    char folded[UF_NORM_MAX];
    memcpy(folded, out, flen);
    words ws;
    split_words(folded, flen, &ws);
    if (ws.n == 0)
        return UF_NORM_EMPTY; /* only apostrophes */
    if (is_placeholder_phrase(&ws) || only_noise(&ws, 0, ws.n))
        return UF_NORM_JUNK;
    ws.n = clean_range(&ws, 0, ws.n);
    /* Dropping placeholders can leave one ("x xx" -> "x"): the result must not be junk. */
    if (ws.n == 0 || is_placeholder_phrase(&ws) || only_noise(&ws, 0, ws.n))
        return UF_NORM_JUNK;
    *out_len = join_words(&ws, 0, ws.n, out);
    return UF_NORM_OK;
}

uf_norm_status uf_normalize_full_name(uf_slice in, char *first, size_t *first_len,
                                      char *last, size_t *last_len)
{
    *first_len = 0;
    *last_len = 0;
    char folded[UF_NORM_MAX];
    size_t flen = 0;
    uf_norm_status st = uf_fold_text(in, "'-,", folded, &flen);
    if (st != UF_NORM_OK)
        return st;
    words ws;
    split_words(folded, flen, &ws);
    if (ws.n == 0)
        return UF_NORM_EMPTY; /* only commas, hyphens, apostrophes */
    if (is_placeholder_phrase(&ws) || only_noise(&ws, 0, ws.n))
        return UF_NORM_JUNK;

    /* "LAST, First Middle[, Suffix]" */
    if (ws.comma != SIZE_MAX && ws.comma > 0 && ws.comma < ws.n) {
        size_t given_end = ws.second_comma != SIZE_MAX ? ws.second_comma : ws.n;
        /* Is everything after the comma a suffix ("Jr.", "Ph.D.")? */
        size_t end = given_end, span;
        while (end > ws.comma && (span = suffix_span(&ws, end)) != 0 && end - span >= ws.comma)
            end -= span;
        if (end > ws.comma) {
            /* Words after a second comma are suffixes of the whole name: drop them. */
            ws.n = given_end;
            size_t family_to = clean_range(&ws, 0, ws.comma); /* moves ws.comma down */
            size_t given_from = ws.comma;
            size_t given_to = clean_range(&ws, given_from, ws.n);
            if (given_to - given_from == 1 && word_has(&ws, given_from, W_TITLE))
                given_to = given_from; /* "Smith, Mr" */
            if (family_to == 0 && given_to == given_from)
                return UF_NORM_JUNK;
            *last_len = join_words(&ws, 0, family_to, last);
            if (given_to > given_from)
                *first_len = join_words(&ws, given_from, given_from + 1, first);
            return UF_NORM_OK;
        }
        /* "John Smith, Jr.": the comma only introduced suffixes; fall through. */
    }

    size_t to = clean_range(&ws, 0, ws.n);
    if (to == 0)
        return UF_NORM_JUNK;
    if (to == 1) {
        *last_len = join_words(&ws, 0, 1, last);
        return UF_NORM_OK;
    }
    size_t k = to - 1;
    while (k > 1 && word_has(&ws, k - 1, W_PARTICLE))
        k--;
    *first_len = join_words(&ws, 0, 1, first);
    *last_len = join_words(&ws, k, to, last);
    return UF_NORM_OK;
}
