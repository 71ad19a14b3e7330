/*
 * config_yaml.h — a YAML file as a small read-only tree with 1-based line and
 * column marks on every node, for the configuration loader (config.c).
 *
 * Only config.c includes this; it keeps libyaml out of the schema code so
 * the schema reads as data checks, not parser plumbing. The tree mirrors
 * libyaml's document one node for one node: an alias is a second pointer to
 * the same node, never a copy, so a hostile file full of aliases cannot make
 * the tree grow.
 */
#ifndef UF_CONFIG_YAML_H
#define UF_CONFIG_YAML_H

#include "common.h"

typedef enum uf_yaml_type {
    UF_YAML_SCALAR,
    UF_YAML_SEQUENCE,
    UF_YAML_MAPPING
} uf_yaml_type;

typedef struct uf_yaml_node uf_yaml_node;

typedef struct uf_yaml_pair {
    const uf_yaml_node *key;
    const uf_yaml_node *value;
} uf_yaml_pair;

struct uf_yaml_node {
    uf_yaml_type type;
    int line;                     /* 1-based */
    int column;                   /* 1-based, in characters */
    /* scalars */
    const char *text;             /* NUL-terminated; may hold NULs from escapes, see len */
    size_t len;
    bool plain;                   /* unquoted: "", "~" and "null" mean nothing */
    /* sequences: items[count]; mappings: pairs[count], in file order */
    const uf_yaml_node **items;
    const uf_yaml_pair *pairs;
    size_t count;
};

typedef struct uf_yaml_doc uf_yaml_doc;

/*
 * Parse the file at `path` (a single YAML document). On success *out owns
 * the tree (free with uf_yaml_free). Returns UF_ERR_IO when the file cannot
 * be read, UF_ERR_CONFIG with "path:line:column: ..." on a syntax error,
 * UF_ERR_NOMEM when out of memory.
 */
int uf_yaml_load(const char *path, uf_yaml_doc **out, uf_error *err);

/* The root node, or NULL when the file holds no document (empty, comments only). */
const uf_yaml_node *uf_yaml_root(const uf_yaml_doc *doc);

void uf_yaml_free(uf_yaml_doc *doc);

/* True for a plain scalar that YAML reads as null: empty, "~", "null", "Null", "NULL". */
bool uf_yaml_is_null(const uf_yaml_node *node);

#endif /* UF_CONFIG_YAML_H */
