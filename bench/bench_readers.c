/*
 * bench_readers.c — single-thread throughput of the streaming readers.
 *
 * Generates a customer-shaped CSV export, the same records as JSON Lines and
 * the CSV again as gzip (or takes existing files), then reads each through
 * uf_stream + uf_csv / uf_jsonl, touching every field (lengths are summed so
 * the work cannot be optimised away). Prints MB/s (10^6 bytes of
 * uncompressed content per second) by wall clock and by the thread's CPU
 * time, best of several runs, with the raw stream speed as a ceiling.
 *
 * Files are read right after being written, so they come from the page
 * cache: the figures are parsing speed, not disk speed.
 *
 *   bench_readers [-d DIR] [-s MB] [-r RUNS] [-k]
 *                 [-c FILE.csv] [-j FILE.jsonl] [-z FILE.csv.gz]
 *     -d  directory for generated files (default /tmp)
 *     -s  size of the generated CSV in MB (default 200; JSONL is ~1.6x)
 *     -r  runs per reader, best is reported (default 3)
 *     -k  keep the generated files
 *     -c/-j/-z  use these files instead of generating them
 */
#include "csv.h"
#include "jsonl.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ */
/* Data generation                                                     */
/* ------------------------------------------------------------------ */

static const char *const first_names[] = {
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "José", "Zoë", "Björn", "Anaïs", "Wei", "Fatima", "Olivia", "Noah", "Emma", "Liam",
};
static const char *const last_names[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Müller",
    "O'Brien", "Rodriguez", "Martinez", "Hernández", "Lopez", "Nguyen", "Kowalski", "Dubois", "Rossi",
};
static const char *const streets[] = {"Main St", "Oak Avenue", "Maple Rd", "Cedar Lane", "Park Blvd",
                                      "2nd Street", "Elm Drive", "Lakeview Terrace"};
static const char *const cities[] = {"Springfield", "Riverside", "Franklin", "Greenville", "Bristol",
                                     "Clinton", "Fairview", "Salem", "Madison", "Georgetown"};
static const char *const segments[] = {"gold", "silver", "bronze", "new", "churn-risk"};
static const char *const domains[] = {"gmail.com", "yahoo.com", "outlook.com", "example.org", "mail.de"};

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

#define PICK(r, a) ((a)[next(r) % (sizeof(a) / sizeof((a)[0]))])

typedef struct customer {
    unsigned long id;
    const char *first, *last, *street, *city, *segment, *domain;
    unsigned house, apt, zip, phone_a, phone_b, year, month, day, uyear, umonth, uday, uhour;
    bool has_apt, has_email, has_phone;
} customer;

static void make_customer(rng *r, unsigned long id, customer *c)
{
    c->id = id;
    c->first = PICK(r, first_names);
    c->last = PICK(r, last_names);
    c->street = PICK(r, streets);
    c->city = PICK(r, cities);
    c->segment = PICK(r, segments);
    c->domain = PICK(r, domains);
    uint64_t x = next(r);
    c->house = 1 + x % 9999;
    c->apt = 1 + (x >> 16) % 40;
    c->has_apt = (x >> 24) % 4 == 0;
    c->has_email = (x >> 28) % 10 != 0;
    c->has_phone = (x >> 32) % 8 != 0;
    c->zip = 10000 + (x >> 36) % 89999;
    x = next(r);
    c->phone_a = 200 + x % 799;
    c->phone_b = (x >> 12) % 10000000;
    c->year = 1940 + (x >> 36) % 65;
    c->month = 1 + (x >> 44) % 12;
    c->day = 1 + (x >> 48) % 28;
    c->uyear = 2019 + (x >> 52) % 6;
    c->umonth = 1 + (x >> 56) % 12;
    c->uday = 1 + (x >> 60) % 28;
    c->uhour = (unsigned)(id % 24);
}

static const char csv_header[] =
    "customer_no,first_name,last_name,email,phone,date_of_birth,street,city,postcode,country,segment,updated_at\n";

static int format_csv(char *out, const customer *c)
{
    char street[96];
    if (c->has_apt) /* a comma inside: the field must be quoted */
        snprintf(street, sizeof street, "\"%u %s, Apt %u\"", c->house, c->street, c->apt);
    else
        snprintf(street, sizeof street, "%u %s", c->house, c->street);
    char email[96] = "";
    if (c->has_email)
        snprintf(email, sizeof email, "%.1s%s%lu@%s", c->first, c->last, c->id % 1000, c->domain);
    char phone[32] = "";
    if (c->has_phone)
        snprintf(phone, sizeof phone, "+1 (%03u) %03u-%04u", c->phone_a, c->phone_b / 10000, c->phone_b % 10000);
    const char *q = strchr(c->last, '\'') ? "\"" : ""; /* some exports quote more than needed */
    return sprintf(out, "CRM-%08lu,%s,%s%s%s,%s,%s,%04u-%02u-%02u,%s,%s,%05u,US,%s,%04u-%02u-%02uT%02u:15:00Z\n",
                   c->id, c->first, q, c->last, q, email, phone, c->year, c->month, c->day, street, c->city,
                   c->zip, c->segment, c->uyear, c->umonth, c->uday, c->uhour);
}

static int format_jsonl(char *out, const customer *c)
{
    char email[96] = "null";
    if (c->has_email)
        snprintf(email, sizeof email, "\"%.1s%s%lu@%s\"", c->first, c->last, c->id % 1000, c->domain);
    int n = sprintf(out,
                    "{\"account_id\":\"WEB-%lu\",\"email\":%s,\"name\":\"%s %s\",\"phone\":\"%03u%07u\","
                    "\"birthdate\":\"%02u/%02u/%04u\",\"zip\":\"%05u\",\"newsletter\":%s,"
                    "\"address\":{\"street\":\"%u %s\",\"city\":\"%s\"},\"orders\":%u,"
                    "\"created_at\":\"%04u-%02u-%02uT%02u:15:00Z\"}\n",
                    c->id, email, c->first, c->last, c->phone_a, c->phone_b, c->month, c->day, c->year,
                    c->zip, c->has_apt ? "true" : "false", c->house, c->street, c->city, c->apt,
                    c->uyear, c->umonth, c->uday, c->uhour);
    return n;
}

static void die(const char *what, const char *path)
{
    fprintf(stderr, "bench_readers: %s %s\n", what, path);
    exit(1);
}

/* Write CSV (and its gzip twin) and JSONL files of about `mb` MB of CSV. */
static void generate(const char *csv, const char *gz, const char *jsonl, double mb)
{
    FILE *fc = csv ? fopen(csv, "wb") : NULL;
    FILE *fj = jsonl ? fopen(jsonl, "wb") : NULL;
    gzFile g = gz ? gzopen(gz, "wb6") : NULL;
    if ((csv && !fc) || (jsonl && !fj) || (gz && !g))
        die("cannot create files in", csv ? csv : jsonl);
    static char bufc[1 << 20], bufj[1 << 20];
    if (fc)
        setvbuf(fc, bufc, _IOFBF, sizeof bufc);
    if (fj)
        setvbuf(fj, bufj, _IOFBF, sizeof bufj);
    if (gz)
        gzbuffer(g, 1 << 20);
    if (fc)
        fputs(csv_header, fc);
    if (g)
        gzputs(g, csv_header);
    rng r = {0x9E3779B97F4A7C15ULL};
    uint64_t target = (uint64_t)(mb * 1e6), written = 0;
    char line[1024];
    for (unsigned long id = 1; written < target; id++) {
        customer c;
        make_customer(&r, id, &c);
        int n = format_csv(line, &c);
        if (fc)
            fwrite(line, 1, (size_t)n, fc);
        if (g)
            gzwrite(g, line, (unsigned)n);
        written += (uint64_t)n;
        if (fj) {
            n = format_jsonl(line, &c);
            fwrite(line, 1, (size_t)n, fj);
        }
    }
    if ((fc && fclose(fc)) || (fj && fclose(fj)) || (g && gzclose(g) != Z_OK))
        die("cannot write files in", csv ? csv : jsonl);
}

/* ------------------------------------------------------------------ */
/* Timing                                                              */
/* ------------------------------------------------------------------ */

typedef struct result {
    uint64_t bytes;   /* uncompressed content */
    uint64_t file;    /* bytes in the file */
    uint64_t rows, rejects, checksum;
    double wall, cpu; /* seconds */
} result;

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef enum { READ_STREAM, READ_CSV, READ_JSONL } read_kind;

static void read_once(const char *path, read_kind kind, result *res)
{
    uf_error err = {0};
    memset(res, 0, sizeof *res);
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
    uf_stream *s = uf_stream_open(path, &err);
    if (!s)
        die(err.message, "");
    if (kind == READ_STREAM) {
        static char buf[1 << 18];
        ssize_t n;
        while ((n = uf_stream_read(s, buf, sizeof buf, &err)) > 0) {
            res->checksum += (unsigned char)buf[n - 1];
            res->rows++;
        }
        if (n < 0)
            die(err.message, "");
    } else if (kind == READ_CSV) {
        uf_csv_reader *r = uf_csv_open(s, ',', &err);
        if (!r)
            die(err.message, "");
        uf_csv_row row;
        int rc;
        while ((rc = uf_csv_next(r, &row, &err)) == UF_CSV_ROW) {
            res->rows++;
            res->rejects += row.reject != UF_REJECT_NONE;
            for (size_t i = 0; i < row.count; i++)
                res->checksum += row.fields[i].len;
        }
        if (rc == UF_CSV_ERROR)
            die(err.message, "");
        uf_csv_close(r);
    } else {
        uf_jsonl_reader *r = uf_jsonl_open(s, &err);
        if (!r)
            die(err.message, "");
        uf_jsonl_record rec;
        int rc;
        while ((rc = uf_jsonl_next(r, &rec, &err)) == UF_JSONL_RECORD) {
            res->rows++;
            res->rejects += rec.reject != UF_REJECT_NONE;
            for (size_t i = 0; i < rec.count; i++)
                res->checksum += rec.keys[i].len + rec.values[i].len + rec.types[i];
        }
        if (rc == UF_JSONL_ERROR)
            die(err.message, "");
        uf_jsonl_close(r);
    }
    res->wall = now(CLOCK_MONOTONIC) - w0;
    res->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
    res->file = uf_stream_bytes_consumed(s);
    uf_stream_close(s);
}

static void bench(const char *label, const char *path, read_kind kind, int runs, uint64_t content_bytes)
{
    result best = {0};
    for (int i = 0; i < runs; i++) {
        result r;
        read_once(path, kind, &r);
        if (i == 0 || r.wall < best.wall)
            best = r;
    }
    best.bytes = content_bytes ? content_bytes : best.file;
    printf("%-16s %10.1f %10.1f %10llu %8llu %8.3f %10.0f %10.0f\n", label, (double)best.file / 1e6,
           (double)best.bytes / 1e6, kind == READ_STREAM ? 0ULL : (unsigned long long)best.rows,
           (unsigned long long)best.rejects, best.wall, (double)best.bytes / 1e6 / best.wall,
           (double)best.bytes / 1e6 / best.cpu);
    fflush(stdout);
}

/* Uncompressed size of a gzip file (or the size of a plain one). */
static uint64_t content_size(const char *path)
{
    uf_error err;
    uf_stream *s = uf_stream_open(path, &err);
    if (!s)
        die(err.message, "");
    static char buf[1 << 18];
    uint64_t total = 0;
    ssize_t n;
    while ((n = uf_stream_read(s, buf, sizeof buf, &err)) > 0)
        total += (uint64_t)n;
    uf_stream_close(s);
    return total;
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp", *csv = NULL, *jsonl = NULL, *gz = NULL;
    double mb = 200;
    int runs = 3, opt;
    bool keep = false;
    while ((opt = getopt(argc, argv, "d:s:r:kc:j:z:h")) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 's': mb = atof(optarg); break;
        case 'r': runs = atoi(optarg); break;
        case 'k': keep = true; break;
        case 'c': csv = optarg; break;
        case 'j': jsonl = optarg; break;
        case 'z': gz = optarg; break;
        default:
            fprintf(stderr, "usage: %s [-d DIR] [-s MB] [-r RUNS] [-k] [-c CSV] [-j JSONL] [-z CSV.GZ]\n",
                    argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (mb <= 0 || runs < 1) {
        fprintf(stderr, "bench_readers: -s and -r must be positive\n");
        return 2;
    }
    char gen_csv[4096], gen_jsonl[4096], gen_gz[4096];
    bool made_csv = !csv, made_jsonl = !jsonl, made_gz = !gz;
    snprintf(gen_csv, sizeof gen_csv, "%s/uf_bench_%d.csv", dir, (int)getpid());
    snprintf(gen_jsonl, sizeof gen_jsonl, "%s/uf_bench_%d.jsonl", dir, (int)getpid());
    snprintf(gen_gz, sizeof gen_gz, "%s/uf_bench_%d.csv.gz", dir, (int)getpid());
    if (made_csv || made_jsonl || made_gz) {
        fprintf(stderr, "generating %.0f MB of CSV (plus JSONL and gzip) in %s ...\n", mb, dir);
        double t0 = now(CLOCK_MONOTONIC);
        generate(made_csv ? gen_csv : NULL, made_gz ? gen_gz : NULL, made_jsonl ? gen_jsonl : NULL, mb);
        fprintf(stderr, "generated in %.1f s\n", now(CLOCK_MONOTONIC) - t0);
    }
    csv = made_csv ? gen_csv : csv;
    jsonl = made_jsonl ? gen_jsonl : jsonl;
    gz = made_gz ? gen_gz : gz;

    printf("single thread, best of %d; MB = 10^6 bytes of uncompressed content\n", runs);
    printf("%-16s %10s %10s %10s %8s %8s %10s %10s\n", "reader", "file MB", "content", "rows",
           "rejects", "wall s", "MB/s wall", "MB/s cpu");
    bench("stream (plain)", csv, READ_STREAM, runs, 0);
    bench("csv", csv, READ_CSV, runs, 0);
    bench("stream (jsonl)", jsonl, READ_STREAM, runs, 0);
    bench("jsonl", jsonl, READ_JSONL, runs, 0);
    uint64_t gz_content = content_size(gz);
    bench("stream (gzip)", gz, READ_STREAM, runs, gz_content);
    bench("csv.gz", gz, READ_CSV, runs, gz_content);

    if (!keep) {
        if (made_csv)
            unlink(gen_csv);
        if (made_jsonl)
            unlink(gen_jsonl);
        if (made_gz)
            unlink(gen_gz);
    } else {
        fprintf(stderr, "kept %s %s %s\n", csv, jsonl, gz);
    }
    return 0;
}
