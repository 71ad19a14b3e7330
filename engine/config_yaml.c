/*
 * config_yaml.c — load a YAML file with libyaml and copy its document into a
 * compact tree with 1-based marks (see config_yaml.h).
 *
 * Why a copy: libyaml's document is a flat node array addressed by 1-based
 * indices with 0-based marks and `yaml_char_t` text; the schema code should
 * see pointers, C strings and the line/column a person reads in an editor.
 * The copy keeps libyaml's shape one-for-one (node i of the document becomes
 * nodes[i]), so aliases stay shared pointers and the whole tree is four
 * allocations, freed together.
 *
 * The file is read whole into memory first: configuration files are small,
 * and with the bytes at hand a reader error (invalid UTF-8), which libyaml
 * reports as a byte offset, can still be turned into line and column.
 */
#include "config_yaml.h"

#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

/* Set `err` and return `code` (a constant, so callers can rely on it being non-zero). */
#define RETURN_ERROR(code, ...)                 \
    do {                                        \
        uf_error_set(err, code, __VA_ARGS__);   \
        return code;                            \
    } while (0)

/* A configuration larger than this is certainly a mistake (wrong file). */
#define UF_YAML_MAX_FILE_BYTES (16u * 1024u * 1024u)

struct uf_yaml_doc {
    uf_yaml_node *nodes;
    const uf_yaml_node **items;
    uf_yaml_pair *pairs;
    char *text;
    const uf_yaml_node *root;
};

bool uf_yaml_is_null(const uf_yaml_node *node)
{
    if (!node || node->type != UF_YAML_SCALAR || !node->plain)
        return false;
    return node->len == 0 || strcmp(node->text, "~") == 0 || strcmp(node->text, "null") == 0 ||
           strcmp(node->text, "Null") == 0 || strcmp(node->text, "NULL") == 0;
}

const uf_yaml_node *uf_yaml_root(const uf_yaml_doc *doc)
{
    return doc ? doc->root : NULL;
}

void uf_yaml_free(uf_yaml_doc *doc)
{
    if (!doc)
        return;
    free(doc->nodes);
    free(doc->items);
    free(doc->pairs);
    free(doc->text);
    free(doc);
}

/* 1-based line and column (in UTF-8 characters) of byte `offset` in `buf`. */
static void offset_to_mark(const char *buf, size_t len, size_t offset, int *line, int *column)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

static int parser_error(const yaml_parser_t *parser, const char *path, const char *buf,
                        size_t len, uf_error *err)
{
    const char *problem = parser->problem ? parser->problem : "unknown problem";
    switch (parser->error) {
    case YAML_NO_ERROR: /* some allocation failures in libyaml's loader leave no error set */
    case YAML_MEMORY_ERROR:
        RETURN_ERROR(UF_ERR_NOMEM, "%s: out of memory parsing YAML", path);
    case YAML_READER_ERROR: {
        int line, column;
        offset_to_mark(buf, len, parser->problem_offset, &line, &column);
        RETURN_ERROR(UF_ERR_CONFIG,
                            "%s:%d:%d: invalid text (%s); the configuration must be UTF-8 YAML",
                            path, line, column, problem);
    }
    default:
        break;
    }
    int line = (int)parser->problem_mark.line + 1;
    int column = (int)parser->problem_mark.column + 1;
    if (parser->context)
        RETURN_ERROR(UF_ERR_CONFIG,
                            "%s:%d:%d: YAML syntax error: %s (%s that starts at line %d, "
                            "column %d)",
                            path, line, column, problem, parser->context,
                            (int)parser->context_mark.line + 1,
                            (int)parser->context_mark.column + 1);
    RETURN_ERROR(UF_ERR_CONFIG, "%s:%d:%d: YAML syntax error: %s", path, line, column,
                        problem);
}

/* Copy libyaml's document into our tree. */
static int convert(yaml_document_t *ydoc, uf_yaml_doc *doc)
{
    size_t node_count = (size_t)(ydoc->nodes.top - ydoc->nodes.start);
    size_t item_total = 0, pair_total = 0, text_total = 0;
    for (size_t i = 0; i < node_count; i++) {
        const yaml_node_t *n = &ydoc->nodes.start[i];
        if (n->type == YAML_SCALAR_NODE)
            text_total += n->data.scalar.length + 1;
        else if (n->type == YAML_SEQUENCE_NODE)
            item_total += (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        else if (n->type == YAML_MAPPING_NODE)
            pair_total += (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    }
    /* +1 everywhere: calloc(0) may return NULL, which would read as failure. */
    doc->nodes = calloc(node_count + 1, sizeof *doc->nodes);
    doc->items = calloc(item_total + 1, sizeof *doc->items);
    doc->pairs = calloc(pair_total + 1, sizeof *doc->pairs);
    doc->text = malloc(text_total + 1);
    if (!doc->nodes || !doc->items || !doc->pairs || !doc->text)
        return UF_ERR_NOMEM;

    size_t item_at = 0, pair_at = 0, text_at = 0;
    for (size_t i = 0; i < node_count; i++) {
        const yaml_node_t *n = &ydoc->nodes.start[i];
        uf_yaml_node *t = &doc->nodes[i];
        t->line = (int)n->start_mark.line + 1;
        t->column = (int)n->start_mark.column + 1;
        switch (n->type) {
        case YAML_SCALAR_NODE:
            t->type = UF_YAML_SCALAR;
            t->len = n->data.scalar.length;
            memcpy(doc->text + text_at, n->data.scalar.value, t->len);
            doc->text[text_at + t->len] = '\0';
            t->text = doc->text + text_at;
            text_at += t->len + 1;
            t->plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            break;
        case YAML_SEQUENCE_NODE:
            t->type = UF_YAML_SEQUENCE;
            t->items = doc->items + item_at;
            for (yaml_node_item_t *it = n->data.sequence.items.start;
                 it < n->data.sequence.items.top; it++)
                doc->items[item_at++] = &doc->nodes[*it - 1];
            t->count = (size_t)(doc->items + item_at - t->items);
            break;
        case YAML_MAPPING_NODE:
            t->type = UF_YAML_MAPPING;
            t->pairs = doc->pairs + pair_at;
            for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
                 p < n->data.mapping.pairs.top; p++) {
                doc->pairs[pair_at].key = &doc->nodes[p->key - 1];
                doc->pairs[pair_at].value = &doc->nodes[p->value - 1];
                pair_at++;
            }
            t->count = (size_t)(doc->pairs + pair_at - t->pairs);
            break;
        default: /* YAML_NO_NODE never appears in a loaded document */
            t->type = UF_YAML_SCALAR;
            t->text = "";
            t->plain = true;
            break;
        }
    }
    yaml_node_t *root = yaml_document_get_root_node(ydoc);
    doc->root = root ? &doc->nodes[root - ydoc->nodes.start] : NULL;
    return UF_OK;
}

int uf_yaml_load(const char *path, uf_yaml_doc **out, uf_error *err)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = uf_read_file(path, "configuration file", UF_YAML_MAX_FILE_BYTES, UF_ERR_CONFIG, &buf, &len, err);
    if (rc != UF_OK)
        return rc;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(buf);
        RETURN_ERROR(UF_ERR_NOMEM, "%s: out of memory parsing YAML", path);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

    yaml_document_t ydoc;
    if (!yaml_parser_load(&parser, &ydoc)) {
        rc = parser_error(&parser, path, buf, len, err);
        yaml_parser_delete(&parser);
        free(buf);
        return rc;
    }

    /* A second document would be silently ignored by a one-shot load; say so instead. */
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
        rc = parser_error(&parser, path, buf, len, err);
    } else {
        yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
        if (extra_root) {
            rc = UF_ERR_CONFIG;
            uf_error_set(err, rc,
                         "%s:%d:%d: unexpected second YAML document (expected one "
                         "configuration document per file)",
                         path, (int)extra_root->start_mark.line + 1,
                         (int)extra_root->start_mark.column + 1);
        }
        yaml_document_delete(&extra);
    }

    uf_yaml_doc *doc = NULL;
    if (rc == UF_OK) {
        doc = calloc(1, sizeof *doc);
        if (!doc || convert(&ydoc, doc) != UF_OK) {
            uf_yaml_free(doc);
            doc = NULL;
            rc = UF_ERR_NOMEM;
            uf_error_set(err, rc, "%s: out of memory parsing YAML", path);
        }
    }
    yaml_document_delete(&ydoc);
    yaml_parser_delete(&parser);
    free(buf);
    *out = doc;
    return rc;
}
