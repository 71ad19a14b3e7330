/*
 * config.c — the configuration schema: turn the YAML tree (config_yaml.c)
 * into a validated struct uf_config, or say precisely what is wrong.
 *
 * A configuration is written by hand and read by a batch that runs at night,
 * so every mistake must be caught at load time, before any file is read, and
 * reported as `FILE:LINE:COLUMN: what is wrong (what was expected)`. Hence:
 *  - every mapping is checked against its list of allowed keys (a typo is an
 *    error, never a silently ignored setting), with a "did you mean" hint;
 *  - every value is checked for its type and range where it is read;
 *  - required keys are reported at the mapping that lacks them.
 *
 * Sections are read in dependency order, not file order: defaults before
 * sources and blocklist (they inherit the default country and date order),
 * identifiers before sources and blocklist (they name kinds).
 *
 * Everything the loader allocates hangs off the uf_config as soon as it is
 * allocated, and every array count is raised only once its element is
 * complete, so one uf_config_free cleans up after an error at any point.
 */
#include "config.h"
#include "config_yaml.h"

#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#define UF_CONFIG_DEFAULT_MAP_SIZE ((size_t)1 << 30)
/* Parts small enough that the last one read leaves little idle time on the
 * other threads, big enough that opening a part costs nothing (README, Numbers). */
#define UF_CONFIG_DEFAULT_PART_SIZE ((size_t)16 << 20)
#define UF_CONFIG_MIN_MAP_SIZE ((size_t)1 << 20)
#define UF_CONFIG_MAX_THREADS 1024
#define UF_CONFIG_DEFAULT_PRIORITY 100
#define UF_CONFIG_DEFAULT_MAX_RECORDS 50
#define UF_CONFIG_MAX_NAME 64     /* source and namespace names end up in keys and JSON */
#define UF_CONFIG_SHOW_MAX 60     /* longest value quoted back in a message */
#define UF_CONFIG_LABEL_MAX 256   /* "'priority' in source 'crm'" and the like */

static const char *const builtin_kind_names[UF_KIND_BUILTIN_COUNT] = {
    "email", "phone", "first_name", "last_name", "full_name",
    "dob", "address", "city", "postcode", "country",
};

static const char *const top_keys[] = {
    "store", "threads", "part_size", "rejects", "defaults", "identifiers", "guards", "blocklist", "survivorship",
    "sources", "matching", NULL,
};
static const char *const store_keys[] = {"path", "map_size", "max_map_size", NULL};
static const char *const defaults_keys[] = {"country", "date_order", NULL};
static const char *const builtin_identifier_keys[] = {
    "strength", "max_per_profile", "max_records", NULL,
};
static const char *const namespace_keys[] = {
    "strength", "max_per_profile", "max_records", "case", "strip_separators", NULL,
};
static const char *const guard_keys[] = {
    "max_records_per_identifier", "weak_link_requires", "profile_limit_override", NULL,
};
static const char *const matching_keys[] = {
    "enabled", "threshold", "blocking", "max_block_size", "parameters", "em_max_iterations", "em_tolerance",
    "u_sample_pairs", "term_frequency", "deterministic_recall", NULL,
};
static const char *const block_part_names[] = {
    "first_name", "first_initial", "last_name", "last_soundex", "dob", "dob_year", "postcode", "city", "phone", NULL,
};
static const int block_part_values[] = {
    UF_BLOCK_FIRST_NAME, UF_BLOCK_FIRST_INITIAL, UF_BLOCK_LAST_NAME, UF_BLOCK_LAST_SOUNDEX, UF_BLOCK_DOB,
    UF_BLOCK_DOB_YEAR, UF_BLOCK_POSTCODE, UF_BLOCK_CITY, UF_BLOCK_PHONE,
};
static const char *const source_keys[] = {
    "name", "path", "format", "delimiter", "key", "updated_at", "priority",
    "date_order", "country", "fields", "context", NULL,
};

static const char *const format_names[] = {"csv", "jsonl", NULL};
static const int format_values[] = {UF_FORMAT_CSV, UF_FORMAT_JSONL};
static const char *const date_order_names[] = {"DMY", "MDY", "YMD", NULL};
static const int date_order_values[] = {UF_DATE_DMY, UF_DATE_MDY, UF_DATE_YMD};
static const char *const strength_names[] = {"strong", "weak", NULL};
static const int strength_values[] = {UF_STRENGTH_STRONG, UF_STRENGTH_WEAK};
static const char *const case_names[] = {"upper", "lower", "preserve", NULL};
static const int case_values[] = {UF_CASE_UPPER, UF_CASE_LOWER, UF_CASE_PRESERVE};
static const char *const survive_rule_names[] = {"source_priority", "most_recent", "most_frequent",
                                                 "most_complete", NULL};
static const int survive_rule_values[] = {UF_SURVIVE_SOURCE_PRIORITY, UF_SURVIVE_MOST_RECENT,
                                          UF_SURVIVE_MOST_FREQUENT, UF_SURVIVE_MOST_COMPLETE};
static const char *const agreement_names[] = {"none", "name", "name_and_dob", NULL};
static const int agreement_values[] = {UF_AGREE_NONE, UF_AGREE_NAME, UF_AGREE_NAME_AND_DOB};

/* Per-load state: what messages need (file name, error sink) and the config being built. */
typedef struct loader {
    const char *file;
    uf_error *err;
    uf_config *cfg;
} loader;

/* Where a key lives, for messages: "in source 'crm'" and "source 'crm'". */
typedef struct scope {
    const char *where; /* "" at top level */
    const char *owner; /* the thing that may lack a required key */
} scope;

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static int fail(loader *ld, const uf_yaml_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(loader *ld, const uf_yaml_node *at, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uf_error_set(ld->err, UF_ERR_CONFIG, "%s:%d:%d: %s", ld->file, at->line, at->column, msg);
    return UF_ERR_CONFIG;
}

static int nomem(loader *ld)
{
    uf_error_set(ld->err, UF_ERR_NOMEM, "%s: out of memory loading configuration", ld->file);
    return UF_ERR_NOMEM;
}

/*
 * A node as a person would name it in a message: 'value' (quoted, cut to a
 * readable length, control bytes shown as '?'), "a list", "a mapping" or
 * "nothing" for null.
 */
static const char *show(const uf_yaml_node *n, char *buf, size_t cap)
{
    if (n->type == UF_YAML_SEQUENCE)
        return "a list";
    if (n->type == UF_YAML_MAPPING)
        return "a mapping";
    if (uf_yaml_is_null(n))
        return "nothing";
    size_t len = n->len;
    bool cut = false;
    if (len > UF_CONFIG_SHOW_MAX) {
        len = UF_CONFIG_SHOW_MAX;
        while (len > 0 && ((unsigned char)n->text[len] & 0xC0) == 0x80)
            len--; /* do not split a UTF-8 character */
        cut = true;
    }
    if (cap < len + 6)
        return "a value";
    size_t o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)n->text[i];
        buf[o++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    if (cut) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* "a, b, c" from a NULL-terminated list. */
static void join_names(const char *const *names, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= cap - o)
            return;
        o += (size_t)w;
    }
}

/* Edit distance, for "did you mean" hints; names are short so two rows suffice. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > UF_CONFIG_MAX_NAME || lb > UF_CONFIG_MAX_NAME)
        return SIZE_MAX;
    size_t prev[UF_CONFIG_MAX_NAME + 1], cur[UF_CONFIG_MAX_NAME + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

/* The closest candidate to `word` when it is close enough to be a typo, else NULL. */
static const char *closest(const char *word, const char *const *candidates, size_t count)
{
    size_t len = strlen(word);
    size_t limit = len < 6 ? 1 : 2;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

static size_t list_len(const char *const *names)
{
    size_t n = 0;
    while (names[n])
        n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Mappings and keys                                                   */
/* ------------------------------------------------------------------ */

/* Every key a non-empty scalar, none repeated (libyaml accepts repeats; we don't). */
static int check_pair_keys(loader *ld, const uf_yaml_node *map, const char *where)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    for (size_t i = 0; i < map->count; i++) {
        const uf_yaml_node *key = map->pairs[i].key;
        if (key->type != UF_YAML_SCALAR || uf_yaml_is_null(key) || key->len == 0 ||
            memchr(key->text, '\0', key->len))
            return fail(ld, key, "expected a key name %s, got %s", where,
                        show(key, shown, sizeof shown));
        for (size_t j = 0; j < i; j++) {
            const uf_yaml_node *prev = map->pairs[j].key;
            if (prev->len == key->len && memcmp(prev->text, key->text, key->len) == 0)
                return fail(ld, key, "duplicate key '%s' %s (first given at line %d)", key->text,
                            where, prev->line);
        }
    }
    return UF_OK;
}

static int check_keys(loader *ld, const uf_yaml_node *map, const char *const *allowed,
                      const char *where)
{
    int rc = check_pair_keys(ld, map, where);
    if (rc != UF_OK)
        return rc;
    for (size_t i = 0; i < map->count; i++) {
        const uf_yaml_node *key = map->pairs[i].key;
        bool known = false;
        for (size_t k = 0; allowed[k] && !known; k++)
            known = strcmp(key->text, allowed[k]) == 0;
        if (known)
            continue;
        char expected[512];
        join_names(allowed, expected, sizeof expected);
        const char *hint = closest(key->text, allowed, list_len(allowed));
        return fail(ld, key, "unknown key '%s' %s (expected one of: %s)%s%s%s", key->text, where,
                    expected, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
    }
    return UF_OK;
}

/*
 * The value under `key`, or NULL. A non-scalar key (`{a: b}: c`) matches
 * nothing: callers may look a key up before check_pair_keys has reported it.
 */
static const uf_yaml_node *find(const uf_yaml_node *map, const char *key)
{
    for (size_t i = 0; i < map->count; i++)
        if (map->pairs[i].key->type == UF_YAML_SCALAR && strcmp(map->pairs[i].key->text, key) == 0)
            return map->pairs[i].value;
    return NULL;
}

/* The key node itself, to point a message at the key rather than its value. */
static const uf_yaml_node *find_key(const uf_yaml_node *map, const char *key)
{
    for (size_t i = 0; i < map->count; i++)
        if (map->pairs[i].key->type == UF_YAML_SCALAR && strcmp(map->pairs[i].key->text, key) == 0)
            return map->pairs[i].key;
    return map;
}

static int require(loader *ld, const uf_yaml_node *map, const char *key, const scope *sc,
                   const uf_yaml_node **out)
{
    *out = find(map, key);
    if (!*out)
        return fail(ld, map, "%s is missing required key '%s'", sc->owner, key);
    return UF_OK;
}

/* "'path' in 'store'" — how a value is named in a type error. */
static const char *label(char *buf, size_t cap, const char *key, const scope *sc)
{
    /* A label cut short is still a useful message; the check only marks that as intended. */
    if (snprintf(buf, cap, "'%s'%s%s", key, sc->where[0] ? " " : "", sc->where) < 0)
        buf[0] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ */
/* Typed values                                                        */
/* ------------------------------------------------------------------ */

/* A scalar whose text is all there is: not null, no NUL from an escape. */
static bool plain_text(const uf_yaml_node *n)
{
    return n->type == UF_YAML_SCALAR && !uf_yaml_is_null(n) && strlen(n->text) == n->len;
}

static int expect_mapping(loader *ld, const uf_yaml_node *n, const char *what, const char *example)
{
    if (n->type == UF_YAML_MAPPING)
        return UF_OK;
    char shown[UF_CONFIG_SHOW_MAX + 8];
    return fail(ld, n, "%s must be a mapping%s%s, got %s", what, example ? " such as " : "",
                example ? example : "", show(n, shown, sizeof shown));
}

/* A non-empty scalar without NUL bytes; borrowed from the tree. */
static int expect_text(loader *ld, const uf_yaml_node *n, const char *what, const char **out)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    if (n->type != UF_YAML_SCALAR || uf_yaml_is_null(n))
        return fail(ld, n, "%s must be a string, got %s", what, show(n, shown, sizeof shown));
    if (n->len == 0)
        return fail(ld, n, "%s must not be empty", what);
    if (memchr(n->text, '\0', n->len))
        return fail(ld, n, "%s must not contain a NUL character", what);
    *out = n->text;
    return UF_OK;
}

static int expect_string(loader *ld, const uf_yaml_node *n, const char *what, char **out)
{
    const char *text;
    int rc = expect_text(ld, n, what, &text);
    if (rc != UF_OK)
        return rc;
    *out = strdup(text);
    return *out ? UF_OK : nomem(ld);
}

static int expect_int(loader *ld, const uf_yaml_node *n, const char *what, long long min,
                      long long max, int *out)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    const char *t = n->text;
    bool digits = plain_text(n) &&
                  (isdigit((unsigned char)t[0]) ||
                   ((t[0] == '-' || t[0] == '+') && isdigit((unsigned char)t[1])));
    for (size_t i = 1; digits && i < n->len; i++)
        digits = isdigit((unsigned char)t[i]);
    if (!digits)
        return fail(ld, n, "%s must be an integer, got %s", what, show(n, shown, sizeof shown));
    /* Digits only, so the one way strtoll can fail is overflow: clamp and range-check. */
    long long v = strtoll(t, NULL, 10);
    if (v < min)
        return fail(ld, n, "%s must be at least %lld, got %s", what, min, t);
    if (v > max)
        return fail(ld, n, "%s must be at most %lld, got %s", what, max, t);
    *out = (int)v;
    return UF_OK;
}

static int expect_bool(loader *ld, const uf_yaml_node *n, const char *what, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    if (plain_text(n)) {
        for (size_t i = 0; i < UF_ARRAY_LEN(yes); i++) {
            if (strcasecmp(n->text, yes[i]) == 0) {
                *out = true;
                return UF_OK;
            }
            if (strcasecmp(n->text, no[i]) == 0) {
                *out = false;
                return UF_OK;
            }
        }
    }
    char shown[UF_CONFIG_SHOW_MAX + 8];
    return fail(ld, n, "%s must be true or false, got %s", what, show(n, shown, sizeof shown));
}

/* One of `names` (case-insensitive: "dmy" is as clear as "DMY"). */
static int expect_enum(loader *ld, const uf_yaml_node *n, const char *what,
                       const char *const *names, const int *values, int *out)
{
    if (plain_text(n)) {
        for (size_t i = 0; names[i]; i++) {
            if (strcasecmp(n->text, names[i]) == 0) {
                *out = values[i];
                return UF_OK;
            }
        }
    }
    char shown[UF_CONFIG_SHOW_MAX + 8], expected[256];
    join_names(names, expected, sizeof expected);
    return fail(ld, n, "%s must be one of: %s; got %s", what, expected,
                show(n, shown, sizeof shown));
}

/* Two-letter ISO 3166 code that the phone normalizer can dial. */
static int expect_country(loader *ld, const uf_yaml_node *n, const char *what, char out[3])
{
    const char *text;
    int rc = expect_text(ld, n, what, &text);
    if (rc != UF_OK)
        return rc;
    char shown[UF_CONFIG_SHOW_MAX + 8];
    if (n->len != 2 || !isalpha((unsigned char)text[0]) || !isalpha((unsigned char)text[1]))
        return fail(ld, n,
                    "%s must be a two-letter ISO 3166 country code such as US, GB or DE, got %s",
                    what, show(n, shown, sizeof shown));
    char code[3] = {(char)toupper((unsigned char)text[0]), (char)toupper((unsigned char)text[1]),
                    '\0'};
    if (!uf_phone_country_known(code))
        return fail(ld, n,
                    "unknown country '%s' for %s (expected an ISO 3166 alpha-2 code known to "
                    "the phone normalizer, such as US, GB or DE)",
                    code, what);
    memcpy(out, code, 3);
    return UF_OK;
}

/*
 * A byte count: "1073741824", or a number with a unit. K/M/G/T and
 * KiB/MiB/GiB/TiB are powers of 1024; KB/MB/GB/TB are powers of 1000, as the
 * SI prefixes say. Units are case-insensitive, a space before them is fine.
 */
/* A size with an optional unit; at least `min` bytes (1 MiB for the map, so a forgotten unit shows). */
static int expect_size(loader *ld, const uf_yaml_node *n, const char *what, size_t min, size_t *out)
{
    static const struct {
        const char *unit;
        unsigned long long factor;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1ull << 10},
        {"kib", 1ull << 10},
        {"m", 1ull << 20},
        {"mib", 1ull << 20},
        {"g", 1ull << 30},
        {"gib", 1ull << 30},
        {"t", 1ull << 40},
        {"tib", 1ull << 40},
        {"kb", 1000ull},
        {"mb", 1000ull * 1000},
        {"gb", 1000ull * 1000 * 1000},
        {"tb", 1000ull * 1000 * 1000 * 1000},
    };
    char shown[UF_CONFIG_SHOW_MAX + 8];
    const char *t = n->text;
    bool ok = plain_text(n) && isdigit((unsigned char)t[0]);
    unsigned long long value = 0;
    size_t i = 0;
    for (; ok && isdigit((unsigned char)t[i]); i++) {
        unsigned digit = (unsigned)(t[i] - '0');
        if (value > (ULLONG_MAX - digit) / 10)
            return fail(ld, n, "%s is too large: %s", what, t);
        value = value * 10 + digit;
    }
    while (ok && t[i] == ' ')
        i++;
    unsigned long long factor = 0;
    for (size_t u = 0; ok && u < UF_ARRAY_LEN(units) && !factor; u++)
        if (strcasecmp(t + i, units[u].unit) == 0)
            factor = units[u].factor;
    if (!ok || !factor)
        return fail(ld, n,
                    "%s must be a size such as 1073741824, 512MiB or 1GiB (units: KiB, MiB, "
                    "GiB, TiB, K, M, G, T, KB, MB, GB, TB), got %s",
                    what, show(n, shown, sizeof shown));
    if (value > SIZE_MAX / factor)
        return fail(ld, n, "%s is too large: %s", what, t);
    size_t bytes = (size_t)(value * factor);
    if (bytes < min)
        return fail(ld, n, "%s must be at least 1MiB, got %s (did you forget a unit such as MiB?)",
                    what, t);
    *out = bytes;
    return UF_OK;
}

/* "[a-z][a-z0-9_]*" (and '-' when `dash`), at most UF_CONFIG_MAX_NAME bytes. */
static bool valid_name(const char *s, bool dash)
{
    size_t n = strlen(s);
    if (n == 0 || n > UF_CONFIG_MAX_NAME || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (dash && c == '-')))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

static char *join_path(const char *dir, const char *path)
{
    if (path[0] == '/' || strcmp(dir, ".") == 0)
        return strdup(path);
    size_t dl = strlen(dir), pl = strlen(path);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *out = malloc(dl + pl + 2);
    if (!out)
        return NULL;
    memcpy(out, dir, dl);
    if (!slash)
        out[dl++] = '/';
    memcpy(out + dl, path, pl + 1);
    return out;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Fill src->paths from src->pattern. No glob characters: the path itself,
 * whether or not it exists (uf_check reports a missing file by name). A
 * glob: the regular files it matches, sorted bytewise so the order — and
 * with it every tie broken by input order — does not depend on the locale.
 */
static int expand_paths(loader *ld, uf_source_config *src)
{
    if (!strpbrk(src->pattern, "*?[")) {
        src->paths = malloc(sizeof *src->paths);
        if (!src->paths)
            return nomem(ld);
        src->paths[0] = strdup(src->pattern);
        if (!src->paths[0])
            return nomem(ld);
        src->path_count = 1;
        return UF_OK;
    }
    glob_t g;
    memset(&g, 0, sizeof g);
    int r = glob(src->pattern, GLOB_MARK, NULL, &g);
    if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
        globfree(&g);
        return UF_OK;
    }
    if (r != 0) {
        globfree(&g);
        if (r == GLOB_NOSPACE)
            return nomem(ld);
        uf_error_set(ld->err, UF_ERR_IO, "%s: cannot list files matching '%s' (source '%s')",
                     ld->file, src->pattern, src->name);
        return UF_ERR_IO;
    }
    src->paths = calloc(g.gl_pathc, sizeof *src->paths);
    if (!src->paths) {
        globfree(&g);
        return nomem(ld);
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len = strlen(g.gl_pathv[i]);
        if (len > 0 && g.gl_pathv[i][len - 1] == '/')
            continue; /* GLOB_MARK: a directory, not an export */
        src->paths[src->path_count] = strdup(g.gl_pathv[i]);
        if (!src->paths[src->path_count]) {
            globfree(&g);
            return nomem(ld);
        }
        src->path_count++;
    }
    globfree(&g);
    qsort(src->paths, src->path_count, sizeof *src->paths, compare_paths);
    return UF_OK;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

static int load_store(loader *ld, const uf_yaml_node *node)
{
    static const scope sc = {"in 'store'", "'store'"};
    int rc = expect_mapping(ld, node, "'store'", "{path: var/store}");
    if (rc == UF_OK)
        rc = check_keys(ld, node, store_keys, sc.where);
    const uf_yaml_node *v;
    if (rc == UF_OK)
        rc = require(ld, node, "path", &sc, &v);
    const char *text = NULL;
    if (rc == UF_OK)
        rc = expect_text(ld, v, "'path' in 'store'", &text);
    if (rc != UF_OK)
        return rc;
    ld->cfg->store_path = join_path(ld->cfg->dir, text);
    if (!ld->cfg->store_path)
        return nomem(ld);
    /* "var/store/" and "var/store" are one store; the default rejects file must not
     * become "var/store/.rejects" inside it. */
    size_t len = strlen(ld->cfg->store_path);
    while (len > 1 && ld->cfg->store_path[len - 1] == '/')
        ld->cfg->store_path[--len] = '\0';
    if ((v = find(node, "map_size")) && (rc = expect_size(ld, v, "'map_size' in 'store'", UF_CONFIG_MIN_MAP_SIZE, &ld->cfg->map_size)) != UF_OK)
        return rc;
    if ((v = find(node, "max_map_size"))) {
        if ((rc = expect_size(ld, v, "'max_map_size' in 'store'", UF_CONFIG_MIN_MAP_SIZE, &ld->cfg->max_map_size)) != UF_OK)
            return rc;
        if (ld->cfg->max_map_size < ld->cfg->map_size)
            return fail(ld, v, "'max_map_size' in 'store' (%zu bytes) is smaller than 'map_size' (%zu bytes)",
                        ld->cfg->max_map_size, ld->cfg->map_size);
    }
    return UF_OK;
}

static int load_defaults(loader *ld, const uf_yaml_node *node)
{
    if (uf_yaml_is_null(node))
        return UF_OK;
    int rc = expect_mapping(ld, node, "'defaults'", "{country: US, date_order: YMD}");
    if (rc == UF_OK)
        rc = check_keys(ld, node, defaults_keys, "in 'defaults'");
    const uf_yaml_node *v;
    if (rc == UF_OK && (v = find(node, "country")))
        rc = expect_country(ld, v, "'country' in 'defaults'", ld->cfg->default_country);
    int order;
    if (rc == UF_OK && (v = find(node, "date_order"))) {
        rc = expect_enum(ld, v, "'date_order' in 'defaults'", date_order_names, date_order_values,
                         &order);
        if (rc == UF_OK)
            ld->cfg->date_order = (uf_date_order)order;
    }
    return rc;
}

static int load_identifier_settings(loader *ld, const uf_yaml_node *node, uf_kind_config *kind,
                                    bool is_namespace)
{
    if (uf_yaml_is_null(node))
        return UF_OK;
    char where[UF_CONFIG_LABEL_MAX], what[UF_CONFIG_LABEL_MAX];
    snprintf(where, sizeof where, "in identifier '%s'", kind->name);
    scope sc = {where, where};
    snprintf(what, sizeof what, "settings of identifier '%s'", kind->name);
    int rc = expect_mapping(ld, node, what, "{strength: strong}");
    if (rc == UF_OK)
        rc = check_keys(ld, node, is_namespace ? namespace_keys : builtin_identifier_keys, where);
    const uf_yaml_node *v;
    int value;
    if (rc == UF_OK && (v = find(node, "strength"))) {
        rc = expect_enum(ld, v, label(what, sizeof what, "strength", &sc), strength_names,
                         strength_values, &value);
        if (rc == UF_OK)
            kind->strength = (uf_strength)value;
    }
    if (rc == UF_OK && (v = find(node, "max_per_profile")))
        rc = expect_int(ld, v, label(what, sizeof what, "max_per_profile", &sc), 0, INT_MAX,
                        &kind->max_per_profile);
    if (rc == UF_OK && (v = find(node, "max_records")))
        rc = expect_int(ld, v, label(what, sizeof what, "max_records", &sc), 0, INT_MAX,
                        &kind->max_records);
    if (rc == UF_OK && (v = find(node, "case"))) {
        rc = expect_enum(ld, v, label(what, sizeof what, "case", &sc), case_names, case_values,
                         &value);
        if (rc == UF_OK)
            kind->case_policy = (uf_case_policy)value;
    }
    if (rc == UF_OK && (v = find(node, "strip_separators")))
        rc = expect_bool(ld, v, label(what, sizeof what, "strip_separators", &sc),
                         &kind->strip_separators);
    return rc;
}

static int load_identifiers(loader *ld, const uf_yaml_node *node)
{
    if (uf_yaml_is_null(node))
        return UF_OK;
    int rc = expect_mapping(ld, node, "'identifiers'", "{crm_id: {strength: strong}}");
    if (rc == UF_OK)
        rc = check_pair_keys(ld, node, "in 'identifiers'");
    if (rc != UF_OK)
        return rc;
    uf_config *cfg = ld->cfg;
    uf_kind_config *grown = realloc(cfg->kinds, (cfg->kind_count + node->count) * sizeof *grown);
    if (!grown)
        return nomem(ld);
    cfg->kinds = grown;
    for (size_t i = 0; i < node->count; i++) {
        const uf_yaml_node *key = node->pairs[i].key;
        int index = uf_config_kind_index(cfg, key->text, key->len);
        uf_kind_config *kind;
        if (index == UF_KIND_EMAIL || index == UF_KIND_PHONE) {
            kind = &cfg->kinds[index];
        } else if (index >= 0 && index < UF_KIND_BUILTIN_COUNT) {
            return fail(ld, key,
                        "'%s' is a built-in attribute kind, not an identifier (under "
                        "'identifiers' only email, phone and new identifier namespaces may "
                        "appear)",
                        key->text);
        } else if (strcmp(key->text, "any") == 0 || !valid_name(key->text, false)) {
            return fail(ld, key,
                        "invalid identifier namespace name '%s' (expected a lower-case letter "
                        "followed by lower-case letters, digits or '_', at most %d characters, "
                        "and not 'any')",
                        key->text, UF_CONFIG_MAX_NAME);
        } else {
            kind = &cfg->kinds[cfg->kind_count];
            memset(kind, 0, sizeof *kind);
            kind->name = strdup(key->text);
            if (!kind->name)
                return nomem(ld);
            kind->name_len = strlen(kind->name);
            kind->is_identifier = true;
            kind->strength = UF_STRENGTH_STRONG;
            kind->case_policy = UF_CASE_UPPER;
            cfg->kind_count++;
        }
        rc = load_identifier_settings(ld, node->pairs[i].value, kind,
                                      kind >= cfg->kinds + UF_KIND_BUILTIN_COUNT);
        if (rc != UF_OK)
            return rc;
    }
    return UF_OK;
}

static int load_guards(loader *ld, const uf_yaml_node *node)
{
    if (uf_yaml_is_null(node))
        return UF_OK;
    uf_guard_config *g = &ld->cfg->guards;
    int rc = expect_mapping(ld, node, "'guards'", "{max_records_per_identifier: 50}");
    if (rc == UF_OK)
        rc = check_keys(ld, node, guard_keys, "in 'guards'");
    const uf_yaml_node *v;
    int value;
    if (rc == UF_OK && (v = find(node, "max_records_per_identifier")))
        rc = expect_int(ld, v, "'max_records_per_identifier' in 'guards'", 2, INT_MAX,
                        &g->max_records_per_identifier);
    if (rc == UF_OK && (v = find(node, "weak_link_requires"))) {
        rc = expect_enum(ld, v, "'weak_link_requires' in 'guards'", agreement_names,
                         agreement_values, &value);
        if (rc == UF_OK)
            g->weak_link_requires = (uf_agreement)value;
    }
    if (rc == UF_OK && (v = find(node, "profile_limit_override"))) {
        rc = expect_enum(ld, v, "'profile_limit_override' in 'guards'", agreement_names,
                         agreement_values, &value);
        if (rc == UF_OK)
            g->profile_limit_override = (uf_agreement)value;
    }
    return rc;
}

/* A decimal number in [min, max] ("0.99", "1e-5"). */
static int expect_number(loader *ld, const uf_yaml_node *n, const char *what, double min, double max,
                         bool open_interval, double *out)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    char *end = NULL;
    double v = plain_text(n) && n->len > 0 ? strtod(n->text, &end) : 0;
    if (!end || end != n->text + n->len || v != v)
        return fail(ld, n, "%s must be a number, got %s", what, show(n, shown, sizeof shown));
    bool inside = open_interval ? v > min && v < max : v >= min && v <= max;
    if (!inside)
        return fail(ld, n, "%s must be %s %g and %g, got %s", what,
                    open_interval ? "strictly between" : "between", min, max, n->text);
    *out = v;
    return UF_OK;
}

const char *uf_block_part_name(const uf_config *config, uf_block_part part)
{
    if ((unsigned)part < UF_BLOCK_PART_COUNT)
        return block_part_names[part];
    size_t kind = (size_t)part - UF_BLOCK_IDENTIFIER;
    return (unsigned)part >= UF_BLOCK_IDENTIFIER && kind < config->kind_count ? config->kinds[kind].name : "?";
}

/* A blocking rule part: a built-in part name or the name of an identifier kind. */
static int expect_block_part(loader *ld, const uf_yaml_node *n, int *out)
{
    if (n->type == UF_YAML_SCALAR && !uf_yaml_is_null(n)) {
        int kind = uf_config_kind_index(ld->cfg, n->text, n->len);
        if (kind >= 0 && ld->cfg->kinds[kind].is_identifier && kind != UF_KIND_PHONE) {
            *out = UF_BLOCK_IDENTIFIER + kind;
            return UF_OK;
        }
    }
    return expect_enum(ld, n, "a blocking rule part (or an identifier kind)", block_part_names, block_part_values,
                       out);
}

/* blocking: [[postcode, last_soundex], [dob, first_initial], [phone]] */
static int load_blocking(loader *ld, const uf_yaml_node *node, uf_matching_config *m)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    if (node->type == UF_YAML_SEQUENCE && node->count == 0)
        return fail(ld, node, "'blocking' in 'matching' must list at least one rule");
    if (node->type != UF_YAML_SEQUENCE)
        return fail(ld, node,
                    "'blocking' in 'matching' must be a list of rules such as "
                    "[[postcode, last_soundex], [dob, first_initial]], got %s",
                    show(node, shown, sizeof shown));
    if (node->count > UF_MAX_BLOCK_RULES)
        return fail(ld, node, "'blocking' in 'matching' has %zu rules; at most %d are allowed", node->count,
                    UF_MAX_BLOCK_RULES);
    m->rule_count = 0;
    for (size_t i = 0; i < node->count; i++) {
        const uf_yaml_node *rule = node->items[i];
        uf_block_rule *r = &m->rules[m->rule_count++];
        r->part_count = 0;
        if (rule->type == UF_YAML_SCALAR) {
            int v;
            int rc = expect_block_part(ld, rule, &v);
            if (rc != UF_OK)
                return rc;
            r->parts[r->part_count++] = (uf_block_part)v;
            continue;
        }
        if (rule->type != UF_YAML_SEQUENCE || rule->count == 0 || rule->count > UF_MAX_BLOCK_PARTS)
            return fail(ld, rule, "each blocking rule must be a list of 1 to %d parts such as [dob, first_initial], got %s",
                        UF_MAX_BLOCK_PARTS, show(rule, shown, sizeof shown));
        for (size_t j = 0; j < rule->count; j++) {
            int v;
            int rc = expect_block_part(ld, rule->items[j], &v);
            if (rc != UF_OK)
                return rc;
            for (int k = 0; k < r->part_count; k++)
                if (r->parts[k] == (uf_block_part)v)
                    return fail(ld, rule->items[j], "'%s' appears twice in one blocking rule",
                                uf_block_part_name(ld->cfg, (uf_block_part)v));
            r->parts[r->part_count++] = (uf_block_part)v;
        }
    }
    return UF_OK;
}

static int load_matching(loader *ld, const uf_yaml_node *node)
{
    uf_matching_config *m = &ld->cfg->matching;
    m->enabled = true; /* a 'matching' section turns it on unless it says enabled: false */
    if (uf_yaml_is_null(node))
        return UF_OK;
    int rc = expect_mapping(ld, node, "'matching'", "{threshold: 0.99}");
    if (rc == UF_OK)
        rc = check_keys(ld, node, matching_keys, "in 'matching'");
    const uf_yaml_node *v;
    const char *text;
    if (rc == UF_OK && (v = find(node, "enabled")))
        rc = expect_bool(ld, v, "'enabled' in 'matching'", &m->enabled);
    if (rc == UF_OK && (v = find(node, "threshold")))
        rc = expect_number(ld, v, "'threshold' in 'matching' (a match probability)", 0, 1, true, &m->threshold);
    if (rc == UF_OK && (v = find(node, "blocking")))
        rc = load_blocking(ld, v, m);
    if (rc == UF_OK && (v = find(node, "max_block_size")))
        rc = expect_int(ld, v, "'max_block_size' in 'matching'", 2, 100000, &m->max_block_size);
    if (rc == UF_OK && (v = find(node, "parameters")) && (rc = expect_text(ld, v, "'parameters' in 'matching'", &text)) == UF_OK &&
        !(m->parameters_path = join_path(ld->cfg->dir, text)))
        rc = nomem(ld);
    if (rc == UF_OK && (v = find(node, "em_max_iterations")))
        rc = expect_int(ld, v, "'em_max_iterations' in 'matching'", 1, 10000, &m->em_max_iterations);
    if (rc == UF_OK && (v = find(node, "em_tolerance")))
        rc = expect_number(ld, v, "'em_tolerance' in 'matching'", 0, 1, true, &m->em_tolerance);
    if (rc == UF_OK && (v = find(node, "u_sample_pairs")))
        rc = expect_int(ld, v, "'u_sample_pairs' in 'matching'", 1000, 100000000, &m->u_sample_pairs);
    if (rc == UF_OK && (v = find(node, "term_frequency")))
        rc = expect_bool(ld, v, "'term_frequency' in 'matching'", &m->term_frequency);
    if (rc == UF_OK && (v = find(node, "deterministic_recall")))
        rc = expect_number(ld, v, "'deterministic_recall' in 'matching'", 0, 1, false, &m->deterministic_recall);
    if (rc == UF_OK && m->deterministic_recall <= 0)
        rc = fail(ld, v, "'deterministic_recall' in 'matching' must be above 0");
    return rc;
}

/* "email, phone, ..., country" for messages about kinds. */
static void builtin_list(char *buf, size_t cap)
{
    const char *names[UF_KIND_BUILTIN_COUNT + 1];
    for (size_t i = 0; i < UF_KIND_BUILTIN_COUNT; i++)
        names[i] = builtin_kind_names[i];
    names[UF_KIND_BUILTIN_COUNT] = NULL;
    join_names(names, buf, cap);
}

/* A typo hint among all kind names ("crm_idd" -> "crm_id"). */
static const char *closest_kind(const uf_config *cfg, const char *word)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, limit = strlen(word) < 6 ? 1 : 2;
    for (size_t i = 0; i < cfg->kind_count; i++) {
        size_t d = edit_distance(word, cfg->kinds[i].name);
        if (d <= limit && d < best_d) {
            best = cfg->kinds[i].name;
            best_d = d;
        }
    }
    return best;
}

/* A delimiter is one byte; "tab" and the two characters \t stand for a tab. */
static int expect_delimiter(loader *ld, const uf_yaml_node *n, const char *what, char *out)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    if (plain_text(n)) {
        if (strcasecmp(n->text, "tab") == 0 || strcmp(n->text, "\\t") == 0) {
            *out = '\t';
            return UF_OK;
        }
        unsigned char c = (unsigned char)n->text[0];
        /* Quotes and line ends are CSV syntax, and a multi-byte character is not one byte. */
        if (n->len == 1 && c != '"' && c != '\r' && c != '\n' && c != '\0' && c < 0x80) {
            *out = (char)c;
            return UF_OK;
        }
    }
    return fail(ld, n,
                "%s must be a single character such as ',', ';', '|' or \"tab\" (not a quote or "
                "line break), got %s",
                what, show(n, shown, sizeof shown));
}

static int load_fields(loader *ld, const uf_yaml_node *node, uf_source_config *src,
                       const scope *sc)
{
    char what[UF_CONFIG_LABEL_MAX];
    label(what, sizeof what, "fields", sc);
    int rc = expect_mapping(ld, node, what, "{email: email, customer_no: crm_id}");
    if (rc != UF_OK)
        return rc;
    if (node->count == 0)
        return fail(ld, node, "%s must map at least one column to an attribute kind", what);
    char where[UF_CONFIG_LABEL_MAX];
    snprintf(where, sizeof where, "in 'fields' of source '%s'", src->name);
    if ((rc = check_pair_keys(ld, node, where)) != UF_OK)
        return rc;
    src->fields = calloc(node->count, sizeof *src->fields);
    if (!src->fields)
        return nomem(ld);
    for (size_t i = 0; i < node->count; i++) {
        const uf_yaml_node *column = node->pairs[i].key, *kind = node->pairs[i].value;
        char kwhat[UF_CONFIG_LABEL_MAX];
        snprintf(kwhat, sizeof kwhat, "the kind of column '%s'", column->text);
        const char *kind_name;
        if ((rc = expect_text(ld, kind, kwhat, &kind_name)) != UF_OK)
            return rc;
        int index = uf_config_kind_index(ld->cfg, kind->text, kind->len);
        if (index < 0) {
            char builtins[256];
            builtin_list(builtins, sizeof builtins);
            const char *hint = closest_kind(ld->cfg, kind_name);
            return fail(ld, kind,
                        "unknown attribute kind '%s' for column '%s' (expected a built-in kind: "
                        "%s, or an identifier declared under 'identifiers')%s%s%s",
                        kind_name, column->text, builtins, hint ? "; did you mean '" : "",
                        hint ? hint : "", hint ? "'?" : "");
        }
        src->fields[i].column = strdup(column->text);
        if (!src->fields[i].column)
            return nomem(ld);
        src->fields[i].kind = index;
        src->field_count++;
    }
    return UF_OK;
}

static int load_context(loader *ld, const uf_yaml_node *node, uf_source_config *src,
                        const scope *sc)
{
    if (uf_yaml_is_null(node))
        return UF_OK;
    char what[UF_CONFIG_LABEL_MAX], shown[UF_CONFIG_SHOW_MAX + 8];
    label(what, sizeof what, "context", sc);
    if (node->type != UF_YAML_SEQUENCE)
        return fail(ld, node, "%s must be a list of column names such as [segment], got %s", what,
                    show(node, shown, sizeof shown));
    src->context_columns = calloc(node->count + 1, sizeof *src->context_columns);
    if (!src->context_columns)
        return nomem(ld);
    char item_what[UF_CONFIG_LABEL_MAX + 16];
    snprintf(item_what, sizeof item_what, "each item of %s", what);
    for (size_t i = 0; i < node->count; i++) {
        const uf_yaml_node *item = node->items[i];
        int rc = expect_string(ld, item, item_what, &src->context_columns[i]);
        if (rc != UF_OK)
            return rc;
        src->context_count++;
        for (size_t j = 0; j < i; j++)
            if (strcmp(src->context_columns[j], item->text) == 0)
                return fail(ld, item, "column '%s' is listed twice in %s", item->text, what);
    }
    return UF_OK;
}

static int load_source(loader *ld, const uf_yaml_node *node, size_t index, uf_source_config *src)
{
    char shown[UF_CONFIG_SHOW_MAX + 8], owner[UF_CONFIG_LABEL_MAX / 2],
        where[UF_CONFIG_LABEL_MAX], what[UF_CONFIG_LABEL_MAX];
    uf_config *cfg = ld->cfg;
    src->priority = UF_CONFIG_DEFAULT_PRIORITY;
    src->delimiter = ',';
    src->date_order = cfg->date_order;
    memcpy(src->country, cfg->default_country, sizeof src->country);
    src->line = node->line;
    if (node->type != UF_YAML_MAPPING)
        return fail(ld, node,
                    "source #%zu must be a mapping with name, path, format, key and fields, got %s",
                    index + 1, show(node, shown, sizeof shown));

    /* Name the source in every later message, even before the name is validated. */
    const uf_yaml_node *name = find(node, "name");
    if (name && name->type == UF_YAML_SCALAR && !uf_yaml_is_null(name) &&
        name->len <= UF_CONFIG_MAX_NAME)
        snprintf(owner, sizeof owner, "source '%s'", name->text);
    else
        snprintf(owner, sizeof owner, "source #%zu", index + 1);
    snprintf(where, sizeof where, "in %s", owner);
    scope sc = {where, owner};

    int rc = check_keys(ld, node, source_keys, where);
    if (rc == UF_OK)
        rc = require(ld, node, "name", &sc, &name);
    if (rc == UF_OK)
        rc = expect_string(ld, name, label(what, sizeof what, "name", &sc), &src->name);
    if (rc != UF_OK)
        return rc;
    if (!valid_name(src->name, true))
        return fail(ld, name,
                    "invalid source name '%s' (expected a lower-case letter followed by "
                    "lower-case letters, digits, '_' or '-', at most %d characters)",
                    src->name, UF_CONFIG_MAX_NAME);
    for (size_t i = 0; i < index; i++)
        if (strcmp(cfg->sources[i].name, src->name) == 0)
            return fail(ld, name, "duplicate source name '%s' (first defined at line %d)",
                        src->name, cfg->sources[i].line);

    const uf_yaml_node *v;
    const char *text;
    if ((rc = require(ld, node, "path", &sc, &v)) != UF_OK ||
        (rc = expect_text(ld, v, label(what, sizeof what, "path", &sc), &text)) != UF_OK)
        return rc;
    if (!(src->pattern = join_path(cfg->dir, text)))
        return nomem(ld);
    if ((rc = expand_paths(ld, src)) != UF_OK)
        return rc;

    int value;
    if ((rc = require(ld, node, "format", &sc, &v)) != UF_OK ||
        (rc = expect_enum(ld, v, label(what, sizeof what, "format", &sc), format_names,
                          format_values, &value)) != UF_OK)
        return rc;
    src->format = (uf_format)value;

    if ((v = find(node, "delimiter"))) {
        if (src->format != UF_FORMAT_CSV)
            return fail(ld, find_key(node, "delimiter"),
                        "'delimiter' %s applies to csv sources only (this source is jsonl)",
                        where);
        if ((rc = expect_delimiter(ld, v, label(what, sizeof what, "delimiter", &sc),
                                   &src->delimiter)) != UF_OK)
            return rc;
    }
    if ((rc = require(ld, node, "key", &sc, &v)) != UF_OK ||
        (rc = expect_string(ld, v, label(what, sizeof what, "key", &sc), &src->key_column)) !=
            UF_OK)
        return rc;
    if ((v = find(node, "updated_at")) && !uf_yaml_is_null(v) &&
        (rc = expect_string(ld, v, label(what, sizeof what, "updated_at", &sc),
                            &src->updated_at_column)) != UF_OK)
        return rc;
    if ((v = find(node, "priority")) &&
        (rc = expect_int(ld, v, label(what, sizeof what, "priority", &sc), INT_MIN, INT_MAX,
                         &src->priority)) != UF_OK)
        return rc;
    if ((v = find(node, "date_order"))) {
        if ((rc = expect_enum(ld, v, label(what, sizeof what, "date_order", &sc),
                              date_order_names, date_order_values, &value)) != UF_OK)
            return rc;
        src->date_order = (uf_date_order)value;
    }
    if ((v = find(node, "country")) &&
        (rc = expect_country(ld, v, label(what, sizeof what, "country", &sc), src->country)) !=
            UF_OK)
        return rc;
    if ((rc = require(ld, node, "fields", &sc, &v)) != UF_OK ||
        (rc = load_fields(ld, v, src, &sc)) != UF_OK)
        return rc;
    if ((v = find(node, "context")))
        return load_context(ld, v, src, &sc);
    return UF_OK;
}

static int load_sources(loader *ld, const uf_yaml_node *node)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    if (node->type != UF_YAML_SEQUENCE)
        return fail(ld, node, "'sources' must be a list of sources (each item starting with "
                    "'- name: ...'), got %s", show(node, shown, sizeof shown));
    if (node->count == 0)
        return fail(ld, node, "'sources' must list at least one source");
    ld->cfg->sources = calloc(node->count, sizeof *ld->cfg->sources);
    if (!ld->cfg->sources)
        return nomem(ld);
    for (size_t i = 0; i < node->count; i++) {
        /* Counted before loading: a half-filled source must still be freed. */
        ld->cfg->source_count = i + 1;
        int rc = load_source(ld, node->items[i], i, &ld->cfg->sources[i]);
        if (rc != UF_OK)
            return rc;
    }
    return UF_OK;
}

/* The normalized form a blocklisted value of `kind` must have to match the data. */
static uf_norm_status normalize_for_kind(const uf_config *cfg, int kind, uf_slice in, char *out,
                                         size_t *out_len)
{
    if (kind == UF_BLOCKLIST_ANY_KIND)
        return uf_fold_text(in, NULL, out, out_len);
    return uf_normalize_kind(cfg, kind, cfg->default_country, cfg->date_order, in, out, out_len);
}

static int load_blocklist(loader *ld, const uf_yaml_node *node)
{
    uf_config *cfg = ld->cfg;
    if (uf_yaml_is_null(node))
        return UF_OK;
    int rc = expect_mapping(ld, node, "'blocklist'", "{email: [test@test.com], any: [n/a]}");
    if (rc == UF_OK)
        rc = check_pair_keys(ld, node, "in 'blocklist'");
    if (rc != UF_OK)
        return rc;
    char shown[UF_CONFIG_SHOW_MAX + 8];
    for (size_t i = 0; i < node->count; i++) {
        const uf_yaml_node *key = node->pairs[i].key, *list = node->pairs[i].value;
        int kind = UF_BLOCKLIST_ANY_KIND;
        if (strcmp(key->text, "any") != 0 &&
            (kind = uf_config_kind_index(cfg, key->text, key->len)) < 0) {
            char builtins[256];
            builtin_list(builtins, sizeof builtins);
            const char *hint = closest_kind(cfg, key->text);
            return fail(ld, key,
                        "unknown kind '%s' in 'blocklist' (expected 'any', a built-in kind: %s, "
                        "or an identifier declared under 'identifiers')%s%s%s",
                        key->text, builtins, hint ? "; did you mean '" : "", hint ? hint : "",
                        hint ? "'?" : "");
        }
        if (uf_yaml_is_null(list))
            continue;
        if (list->type != UF_YAML_SEQUENCE)
            return fail(ld, list,
                        "'%s' in 'blocklist' must be a list of values such as [n/a, unknown], "
                        "got %s",
                        key->text, show(list, shown, sizeof shown));
        for (size_t j = 0; j < list->count; j++) {
            const uf_yaml_node *item = list->items[j];
            if (item->type != UF_YAML_SCALAR)
                return fail(ld, item, "values in 'blocklist' under '%s' must be strings, got %s",
                            key->text, show(item, shown, sizeof shown));
            /* A plain `null` or `~` here means the text, as in a list of placeholder values. */
            char out[UF_NORM_MAX];
            size_t out_len = 0;
            uf_norm_status st = normalize_for_kind(cfg, kind, uf_slice_make(item->text, item->len),
                                                   out, &out_len);
            if (st == UF_NORM_INVALID && kind == UF_BLOCKLIST_ANY_KIND)
                return fail(ld, item,
                            "blocklist value %s under 'any' cannot be folded (expected valid UTF-8 "
                            "of at most %d bytes once folded)",
                            show(item, shown, sizeof shown), UF_NORM_MAX);
            if (st == UF_NORM_INVALID)
                return fail(ld, item,
                            "blocklist value %s is not a valid %s value (the %s normalizer "
                            "rejects it; expected a value as it could appear in the data)",
                            show(item, shown, sizeof shown), key->text, key->text);
            /* Empty or already junk by pattern: the normalizer drops it anyway. */
            if (st != UF_NORM_OK)
                continue;
            if (uf_blocklist_add(cfg->blocklist, kind, out, out_len) != UF_OK)
                return nomem(ld);
        }
    }
    return UF_OK;
}

/*
 * survivorship: kind (or "default") → ordered list of rules. Rules apply in
 * order until one value is left; a kind without a list uses "default", and
 * without that the built-in order (priority, recent, frequent, complete).
 */
static int load_survive_list(loader *ld, const uf_yaml_node *key, const uf_yaml_node *list, uf_kind_config *kind)
{
    char shown[UF_CONFIG_SHOW_MAX + 8];
    if (list->type != UF_YAML_SEQUENCE || list->count == 0 || list->count > UF_SURVIVE_RULE_COUNT)
        return fail(ld, list,
                    "'%s' in 'survivorship' must be a list of 1 to %d rules such as [most_recent, "
                    "source_priority], got %s",
                    key->text, UF_SURVIVE_RULE_COUNT, show(list, shown, sizeof shown));
    char label_buf[UF_CONFIG_LABEL_MAX];
    snprintf(label_buf, sizeof label_buf, "rules of '%s' in 'survivorship'", key->text);
    for (size_t j = 0; j < list->count; j++) {
        int rule;
        int rc = expect_enum(ld, list->items[j], label_buf, survive_rule_names, survive_rule_values, &rule);
        if (rc != UF_OK)
            return rc;
        for (int k = 0; k < (int)j; k++)
            if ((int)kind->survive[k] == rule)
                return fail(ld, list->items[j], "rule '%s' is listed twice for '%s' in 'survivorship'",
                            list->items[j]->text, key->text);
        kind->survive[j] = (uf_survive_rule)rule;
    }
    kind->survive_count = (int)list->count;
    return UF_OK;
}

static int load_survivorship(loader *ld, const uf_yaml_node *node)
{
    uf_config *cfg = ld->cfg;
    if (uf_yaml_is_null(node))
        return UF_OK;
    int rc = expect_mapping(ld, node, "'survivorship'", "{default: [source_priority, most_recent], email: [most_recent]}");
    if (rc == UF_OK)
        rc = check_pair_keys(ld, node, "in 'survivorship'");
    if (rc != UF_OK)
        return rc;
    /* "default" first, so a kind's own list overrides it whatever the order in the file. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < node->count; i++) {
            const uf_yaml_node *key = node->pairs[i].key, *list = node->pairs[i].value;
            bool is_default = strcmp(key->text, "default") == 0;
            if (is_default != (pass == 0))
                continue;
            if (is_default) {
                uf_kind_config defaults;
                memset(&defaults, 0, sizeof defaults);
                if ((rc = load_survive_list(ld, key, list, &defaults)) != UF_OK)
                    return rc;
                for (size_t k = 0; k < cfg->kind_count; k++) {
                    memcpy(cfg->kinds[k].survive, defaults.survive, sizeof defaults.survive);
                    cfg->kinds[k].survive_count = defaults.survive_count;
                }
                continue;
            }
            int kind = uf_config_kind_index(cfg, key->text, key->len);
            if (kind < 0) {
                char builtins[256];
                builtin_list(builtins, sizeof builtins);
                const char *hint = closest_kind(cfg, key->text);
                return fail(ld, key,
                            "unknown kind '%s' in 'survivorship' (expected 'default', a built-in kind: %s, "
                            "or an identifier declared under 'identifiers')%s%s%s",
                            key->text, builtins, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
            }
            if ((rc = load_survive_list(ld, key, list, &cfg->kinds[kind])) != UF_OK)
                return rc;
        }
    }
    return UF_OK;
}

static int load_root(loader *ld, const uf_yaml_node *root)
{
    uf_config *cfg = ld->cfg;
    static const scope top = {"", "the configuration"};
    if (!root) {
        uf_error_set(ld->err, UF_ERR_CONFIG,
                     "%s:1:1: the configuration is empty (expected a mapping with at least "
                     "'store' and 'sources')",
                     ld->file);
        return UF_ERR_CONFIG;
    }
    int rc = expect_mapping(ld, root, "the configuration", "'store: ...' and 'sources: ...'");
    if (rc == UF_OK)
        rc = check_keys(ld, root, top_keys, "at top level");
    const uf_yaml_node *v;
    if (rc == UF_OK && (rc = require(ld, root, "store", &top, &v)) == UF_OK)
        rc = load_store(ld, v);
    if (rc == UF_OK && (v = find(root, "threads")))
        rc = expect_int(ld, v, "'threads'", 1, UF_CONFIG_MAX_THREADS, &cfg->threads);
    if (rc == UF_OK && (v = find(root, "part_size")))
        rc = expect_size(ld, v, "'part_size'", 0, &cfg->part_size);
    const char *text;
    if (rc == UF_OK && (v = find(root, "rejects")) &&
        (rc = expect_text(ld, v, "'rejects'", &text)) == UF_OK &&
        !(cfg->rejects_path = join_path(cfg->dir, text)))
        rc = nomem(ld);
    if (rc == UF_OK && (v = find(root, "defaults")))
        rc = load_defaults(ld, v);
    if (rc == UF_OK && (v = find(root, "identifiers")))
        rc = load_identifiers(ld, v);
    if (rc == UF_OK && (v = find(root, "guards")))
        rc = load_guards(ld, v);
    if (rc == UF_OK && (rc = require(ld, root, "sources", &top, &v)) == UF_OK)
        rc = load_sources(ld, v);
    if (rc == UF_OK && (v = find(root, "blocklist")))
        rc = load_blocklist(ld, v);
    if (rc == UF_OK && (v = find(root, "survivorship")))
        rc = load_survivorship(ld, v);
    if (rc == UF_OK && (v = find(root, "matching")))
        rc = load_matching(ld, v);
    if (rc == UF_OK && !cfg->rejects_path) {
        size_t len = strlen(cfg->store_path);
        if (!(cfg->rejects_path = malloc(len + sizeof ".rejects")))
            return nomem(ld);
        memcpy(cfg->rejects_path, cfg->store_path, len);
        memcpy(cfg->rejects_path + len, ".rejects", sizeof ".rejects");
    }
    return rc;
}

/* Everything that does not depend on the file: defaults and the built-in kinds. */
static int init_config(loader *ld, const char *path)
{
    uf_config *cfg = ld->cfg;
    cfg->path = strdup(path);
    cfg->dir = dir_of(path);
    cfg->blocklist = uf_blocklist_new();
    cfg->today = uf_today_yyyymmdd();
    cfg->kinds = calloc(UF_KIND_BUILTIN_COUNT, sizeof *cfg->kinds);
    if (!cfg->path || !cfg->dir || !cfg->blocklist || !cfg->kinds)
        return nomem(ld);
    for (size_t i = 0; i < UF_KIND_BUILTIN_COUNT; i++) {
        uf_kind_config *k = &cfg->kinds[i];
        if (!(k->name = strdup(builtin_kind_names[i])))
            return nomem(ld);
        k->name_len = strlen(k->name);
        cfg->kind_count++;
        k->is_identifier = i == UF_KIND_EMAIL || i == UF_KIND_PHONE;
        /* A shared household landline is normal; a shared e-mail address is rare. */
        k->strength = i == UF_KIND_PHONE ? UF_STRENGTH_WEAK : UF_STRENGTH_STRONG;
        k->case_policy = UF_CASE_PRESERVE;
    }
    cfg->map_size = UF_CONFIG_DEFAULT_MAP_SIZE;
    cfg->part_size = UF_CONFIG_DEFAULT_PART_SIZE;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cpus < 1 ? 1 : cpus > UF_CONFIG_MAX_THREADS ? UF_CONFIG_MAX_THREADS : (int)cpus;
    memcpy(cfg->default_country, "US", 3);
    cfg->date_order = UF_DATE_YMD;
    cfg->guards.max_records_per_identifier = UF_CONFIG_DEFAULT_MAX_RECORDS;
    cfg->guards.weak_link_requires = UF_AGREE_NAME_AND_DOB;
    cfg->guards.profile_limit_override = UF_AGREE_NAME_AND_DOB;
    uf_matching_config *m = &cfg->matching;
    m->threshold = 0.99;
    m->rules[0] = (uf_block_rule){{UF_BLOCK_POSTCODE, UF_BLOCK_LAST_SOUNDEX, UF_BLOCK_FIRST_INITIAL}, 3};
    m->rules[1] = (uf_block_rule){{UF_BLOCK_DOB, UF_BLOCK_FIRST_INITIAL}, 2};
    m->rules[2] = (uf_block_rule){{UF_BLOCK_PHONE}, 1};
    m->rule_count = 3;
    m->max_block_size = 64;
    m->em_max_iterations = 40;
    m->em_tolerance = 1e-5;
    m->u_sample_pairs = 400000;
    m->term_frequency = true;
    m->deterministic_recall = 0.9;
    return UF_OK;
}

int uf_config_load(const char *path, uf_config **out, uf_error *err)
{
    if (!out || !path || !path[0]) {
        if (out)
            *out = NULL;
        uf_error_set(err, UF_ERR_INVALID, "uf_config_load: %s",
                     out ? "no configuration file given" : "no place for the result");
        return UF_ERR_INVALID;
    }
    *out = NULL;
    uf_error_clear(err);

    uf_yaml_doc *doc = NULL;
    int rc = uf_yaml_load(path, &doc, err);
    if (rc != UF_OK)
        return rc;
    uf_config *cfg = calloc(1, sizeof *cfg);
    loader ld = {path, err, cfg};
    if (!cfg)
        rc = nomem(&ld);
    if (rc == UF_OK)
        rc = init_config(&ld, path);
    if (rc == UF_OK)
        rc = load_root(&ld, uf_yaml_root(doc));
    uf_yaml_free(doc);
    if (rc != UF_OK) {
        uf_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return UF_OK;
}

void uf_config_free(uf_config *config)
{
    if (!config)
        return;
    for (size_t i = 0; i < config->source_count; i++) {
        uf_source_config *s = &config->sources[i];
        free(s->name);
        free(s->pattern);
        for (size_t j = 0; j < s->path_count; j++)
            free(s->paths[j]);
        free(s->paths);
        free(s->key_column);
        free(s->updated_at_column);
        for (size_t j = 0; j < s->field_count; j++)
            free(s->fields[j].column);
        free(s->fields);
        for (size_t j = 0; j < s->context_count; j++)
            free(s->context_columns[j]);
        free(s->context_columns);
    }
    free(config->sources);
    for (size_t i = 0; i < config->kind_count; i++)
        free(config->kinds[i].name);
    free(config->kinds);
    uf_blocklist_free(config->blocklist);
    free(config->path);
    free(config->dir);
    free(config->store_path);
    free(config->rejects_path);
    free(config->matching.parameters_path);
    free(config);
}

int uf_config_kind_index(const uf_config *config, const char *name, size_t len)
{
    if (!name)
        return -1;
    if (!config) {
        for (size_t i = 0; i < UF_KIND_BUILTIN_COUNT; i++) {
            const char *k = builtin_kind_names[i];
            if (strlen(k) == len && memcmp(k, name, len) == 0)
                return (int)i;
        }
        return -1;
    }
    for (size_t i = 0; i < config->kind_count; i++) {
        const char *k = config->kinds[i].name;
        if (strlen(k) == len && memcmp(k, name, len) == 0)
            return (int)i;
    }
    return -1;
}

const char *uf_builtin_kind_name(uf_builtin_kind kind)
{
    if ((int)kind < 0 || kind >= UF_KIND_BUILTIN_COUNT)
        return NULL;
    return builtin_kind_names[kind];
}
