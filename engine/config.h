/*
 * config.h — the validated configuration, as the engine sees it.
 *
 * uf_config_load (config.c) parses YAML with libyaml, which reports line and
 * column for every node, so every error names file:line:column and what was
 * expected. The structs below are plain data owned by the uf_config.
 *
 * Attribute kinds: the ten built-in kinds come first (their index is the
 * uf_builtin_kind value), identifier namespaces declared in the file
 * (crm_id, loyalty_card, ...) follow. Identifier kinds — e-mail, phone and
 * every namespace — produce keys for linking; the others are attributes used
 * by guards, scoring and the golden record.
 */
#ifndef UF_CONFIG_H
#define UF_CONFIG_H

#include "blocklist.h"
#include "common.h"
#include "normalize.h"

typedef enum uf_builtin_kind {
    UF_KIND_EMAIL = 0,
    UF_KIND_PHONE,
    UF_KIND_FIRST_NAME,
    UF_KIND_LAST_NAME,
    UF_KIND_FULL_NAME,
    UF_KIND_DOB,
    UF_KIND_ADDRESS,
    UF_KIND_CITY,
    UF_KIND_POSTCODE,
    UF_KIND_COUNTRY,
    UF_KIND_BUILTIN_COUNT
} uf_builtin_kind;

/* At most this many attribute kinds (built-ins plus namespaces): kinds are one byte in record blobs. */
#define UF_MAX_KINDS 64

/* Survivorship rules, applied in order until one value wins. */
typedef enum uf_survive_rule {
    UF_SURVIVE_SOURCE_PRIORITY, /* value from the source with the lowest priority number */
    UF_SURVIVE_MOST_RECENT,     /* value seen most recently (updated_at) */
    UF_SURVIVE_MOST_FREQUENT,   /* value held by most records */
    UF_SURVIVE_MOST_COMPLETE,   /* longest value */
    UF_SURVIVE_RULE_COUNT
} uf_survive_rule;

typedef enum uf_format { UF_FORMAT_CSV, UF_FORMAT_JSONL } uf_format;

typedef enum uf_strength { UF_STRENGTH_STRONG, UF_STRENGTH_WEAK } uf_strength;

/* What must not disagree before a link is accepted (guards). */
typedef enum uf_agreement {
    UF_AGREE_NONE,         /* no check */
    UF_AGREE_NAME,         /* last name and first name (nickname-aware) must not disagree */
    UF_AGREE_NAME_AND_DOB  /* names as above and date of birth must not disagree */
} uf_agreement;

typedef struct uf_kind_config {
    char *name;                 /* "email", "phone", "crm_id", ... */
    size_t name_len;            /* strlen(name): hashed into every identifier key */
    bool is_identifier;         /* produces a linking key */
    uf_strength strength;       /* identifiers only */
    int max_per_profile;        /* 0 = unlimited; identifiers only */
    int max_records;            /* frequency limit for this kind; 0 = use guards default */
    uf_case_policy case_policy; /* namespaces only */
    bool strip_separators;      /* namespaces only */
    uf_survive_rule survive[UF_SURVIVE_RULE_COUNT]; /* survivorship order for this kind */
    int survive_count;          /* 0 = default order: priority, recent, frequent, complete */
} uf_kind_config;

typedef struct uf_field_mapping {
    char *column;  /* CSV header name or JSON member name */
    int kind;      /* index into uf_config.kinds */
} uf_field_mapping;

typedef struct uf_source_config {
    char *name;
    char *pattern;              /* path or glob as written, resolved against the config folder */
    char **paths;               /* matching files, sorted; filled at load time */
    size_t path_count;
    uf_format format;
    char delimiter;             /* CSV only; default ',' */
    char *key_column;           /* record key */
    char *updated_at_column;    /* may be NULL */
    int priority;               /* lower number wins survivorship; default 100 */
    uf_date_order date_order;   /* for dob; default from config defaults */
    char country[3];            /* default phone country; default from config defaults */
    uf_field_mapping *fields;
    size_t field_count;
    char **context_columns;     /* pass-through columns shown to agents */
    size_t context_count;
    int line;                   /* line of the source in the config file */
} uf_source_config;

typedef struct uf_guard_config {
    int max_records_per_identifier; /* an identifier on more records is junk; default 50 */
    uf_agreement weak_link_requires; /* default UF_AGREE_NAME_AND_DOB */
    uf_agreement profile_limit_override; /* what lets a profile exceed max_per_profile; default NAME_AND_DOB */
} uf_guard_config;

/* What a blocking rule's key is made of (matching.blocking). */
typedef enum uf_block_part {
    UF_BLOCK_FIRST_NAME,    /* nickname-canonical first name */
    UF_BLOCK_FIRST_INITIAL, /* its first letter */
    UF_BLOCK_LAST_NAME,
    UF_BLOCK_LAST_SOUNDEX,  /* Soundex of the last name ("surname sound") */
    UF_BLOCK_DOB,
    UF_BLOCK_DOB_YEAR,
    UF_BLOCK_POSTCODE,
    UF_BLOCK_CITY,
    UF_BLOCK_PHONE,
    UF_BLOCK_PART_COUNT,
    /* UF_BLOCK_IDENTIFIER + k: the value of identifier kind k (the record's
     * first), so records sharing e.g. a customer number that a guard kept
     * apart are still compared on their attributes */
    UF_BLOCK_IDENTIFIER = 64
} uf_block_part;

#define UF_MAX_BLOCK_RULES 8
#define UF_MAX_BLOCK_PARTS 4

/* One blocking rule: records whose parts are all present and all equal are candidates. */
typedef struct uf_block_rule {
    uf_block_part parts[UF_MAX_BLOCK_PARTS];
    int part_count;
} uf_block_rule;

/* Scored matching (match.h); off unless the file has a 'matching' section. */
typedef struct uf_matching_config {
    bool enabled;
    double threshold;            /* match probability a scored link needs; default 0.99 */
    uf_block_rule rules[UF_MAX_BLOCK_RULES];
    int rule_count;              /* default: postcode+last_soundex+first_initial, dob+first_initial, phone */
    int max_block_size;          /* larger blocks are compared in a window of this size; default 64 */
    char *parameters_path;       /* a fixed model (fs_model.h JSON); NULL: trained every run */
    int em_max_iterations;       /* default 40 */
    double em_tolerance;         /* default 1e-5 */
    int u_sample_pairs;          /* random pairs for u; default 400000 */
    bool term_frequency;         /* adjust exact name agreement by name frequency; default true */
    double deterministic_recall; /* share of true pairs the identifiers find, for the prior; default 0.9 */
} uf_matching_config;

struct uf_config {
    char *path;               /* the config file as given */
    char *dir;                /* its folder; relative paths are resolved against it */
    char *store_path;         /* LMDB environment directory */
    size_t map_size;          /* initial LMDB map size in bytes; default 1 GiB */
    size_t max_map_size;      /* the map never grows beyond this (bytes); 0: no limit */
    int threads;              /* default: number of online CPUs */
    size_t part_size;         /* plain export files bigger than this are read in parts of about this many
                                 bytes, by all threads at once (run_read.c); 0: each file by one thread.
                                 Default 16 MiB */
    char *rejects_path;       /* rejects file; default <store_path>.rejects */
    char default_country[3];  /* default "US" */
    uf_date_order date_order; /* default UF_DATE_YMD for ambiguous numeric dates */
    uint32_t today;           /* YYYYMMDD when the config was loaded: "future" dates of birth are judged
                                 against one day for the whole run, so a run crossing midnight stays consistent */
    uf_kind_config *kinds;    /* builtins first, then namespaces */
    size_t kind_count;
    uf_source_config *sources;
    size_t source_count;
    uf_blocklist *blocklist;  /* defaults plus the file's values, normalized */
    uf_guard_config guards;
    uf_matching_config matching;
};

/* Name of a blocking rule part ("last_soundex", "crm_id", ...). */
const char *uf_block_part_name(const uf_config *config, uf_block_part part);

/* Index of the kind named `name`, or -1. */
int uf_config_kind_index(const uf_config *config, const char *name, size_t len);

/*
 * Normalize `in` as a value of attribute kind `kind` (an index into
 * config->kinds): the right normalizer for the kind, with `country` for
 * phones and `order` for dates. A full name is normalized as one name.
 */
uf_norm_status uf_normalize_kind(const uf_config *config, int kind, const char *country, uf_date_order order,
                                 uf_slice in, char *out, size_t *out_len);

/* Name of a built-in kind ("email", ...). */
const char *uf_builtin_kind_name(uf_builtin_kind kind);

#endif /* UF_CONFIG_H */
