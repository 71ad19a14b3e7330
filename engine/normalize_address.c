/*
 * normalize_address.c — street address, city, postcode and country.
 *
 * The idea: addresses are compared word by word (blocking on postcode,
 * token similarity on the street), so the normal form makes the same place
 * spell the same words. Street and city go through uf_fold_text (case,
 * accents, punctuation — "Straße" -> "strasse") and then each word through a
 * table of common postal abbreviations, expanded to the full word so that
 * "12 N Main St." and "12 North Main Street" agree:
 *   st street, rd road, ave/av avenue, blvd boulevard, dr drive, ln lane,
 *   ct court, pl place, sq square, hwy highway, pkwy parkway, apt apartment,
 *   ste suite, fl floor, str strasse, n/s/e/w/ne/nw/se/sw north ... southwest,
 *   and some forty more (USPS and Royal Mail forms).
 *
 * Decisions:
 *  - "#" is punctuation like any other and is dropped: "Apt #5", "Apt 5" and
 *    "Apt. 5" agree; a bare "#5" becomes "5". Keeping "#" would split the
 *    most common spellings of the same unit for no gain.
 *  - "st" is "saint" when it starts the street name — first word, after a
 *    house number, or after a street-type word such as "rue" — and another
 *    word follows ("12 St Johns Rd", "Rue St Denis"); otherwise "street".
 *    "ste" likewise becomes "sainte" before a word, else "suite".
 *  - A single letter after a unit word ("Apt E", "Unit N") is a unit, not a
 *    direction, and is kept.
 *  - Cities expand only the place-name abbreviations st saint, ste sainte,
 *    ft fort, mt mount ("St. Louis" -> "saint louis").
 *  - Placeholders ("n/a", "unknown", "none", "no address", "test", ...) are
 *    UF_NORM_JUNK. Abbreviation expansion can make a long address longer
 *    than UF_NORM_MAX: that is UF_NORM_INVALID like any over-long value.
 *
 * Postcode: ASCII letters and digits, upper-cased, separators (space - .)
 * removed; a nine-digit all-numeric code (US ZIP+4) keeps its first five
 * digits. Shorter than 3 or longer than 10 characters is invalid; one
 * repeated character (00000, 99999, XXXXX) and "n/a"-style words are junk.
 * Without the country we cannot check the format further, so "1234" stays
 * "1234" (a leading zero lost by a spreadsheet is not restored).
 *
 * Country: ISO 3166-1 alpha-2 (every assigned code, plus XK for Kosovo),
 * alpha-3 for about 80 common countries, and English and native names of
 * about 150 ("United States", "U.S.A.", "Deutschland", "Österreich",
 * "The Netherlands"), all to the upper-case alpha-2 code; "UK" is GB.
 * Tables are sorted and binary-searched; nothing allocates.
 */
#include "normalize.h"

typedef struct abbreviation {
    uf_word word;
    uf_word expansion;
} abbreviation;

/* Sorted by `word` (byte order). */
static const abbreviation street_abbreviations[] = {
    {UF_WORD("aly"), UF_WORD("alley")},
    {UF_WORD("apt"), UF_WORD("apartment")},
    {UF_WORD("av"), UF_WORD("avenue")},
    {UF_WORD("ave"), UF_WORD("avenue")},
    {UF_WORD("avn"), UF_WORD("avenue")},
    {UF_WORD("bldg"), UF_WORD("building")},
    {UF_WORD("blvd"), UF_WORD("boulevard")},
    {UF_WORD("bvd"), UF_WORD("boulevard")},
    {UF_WORD("cir"), UF_WORD("circle")},
    {UF_WORD("cl"), UF_WORD("close")},
    {UF_WORD("cres"), UF_WORD("crescent")},
    {UF_WORD("crt"), UF_WORD("court")},
    {UF_WORD("ct"), UF_WORD("court")},
    {UF_WORD("ctr"), UF_WORD("center")},
    {UF_WORD("cv"), UF_WORD("cove")},
    {UF_WORD("dept"), UF_WORD("department")},
    {UF_WORD("dr"), UF_WORD("drive")},
    {UF_WORD("e"), UF_WORD("east")},
    {UF_WORD("expy"), UF_WORD("expressway")},
    {UF_WORD("fl"), UF_WORD("floor")},
    {UF_WORD("flr"), UF_WORD("floor")},
    {UF_WORD("ft"), UF_WORD("fort")},
    {UF_WORD("fwy"), UF_WORD("freeway")},
    {UF_WORD("gdns"), UF_WORD("gardens")},
    {UF_WORD("grn"), UF_WORD("green")},
    {UF_WORD("grv"), UF_WORD("grove")},
    {UF_WORD("hts"), UF_WORD("heights")},
    {UF_WORD("hwy"), UF_WORD("highway")},
    {UF_WORD("jct"), UF_WORD("junction")},
    {UF_WORD("ln"), UF_WORD("lane")},
    {UF_WORD("mt"), UF_WORD("mount")},
    {UF_WORD("mtn"), UF_WORD("mountain")},
    {UF_WORD("n"), UF_WORD("north")},
    {UF_WORD("ne"), UF_WORD("northeast")},
    {UF_WORD("nw"), UF_WORD("northwest")},
    {UF_WORD("pkwy"), UF_WORD("parkway")},
    {UF_WORD("pky"), UF_WORD("parkway")},
    {UF_WORD("pl"), UF_WORD("place")},
    {UF_WORD("plz"), UF_WORD("plaza")},
    {UF_WORD("pt"), UF_WORD("point")},
    {UF_WORD("rd"), UF_WORD("road")},
    {UF_WORD("rdg"), UF_WORD("ridge")},
    {UF_WORD("rm"), UF_WORD("room")},
    {UF_WORD("rte"), UF_WORD("route")},
    {UF_WORD("s"), UF_WORD("south")},
    {UF_WORD("se"), UF_WORD("southeast")},
    {UF_WORD("sq"), UF_WORD("square")},
    {UF_WORD("str"), UF_WORD("strasse")},
    {UF_WORD("sw"), UF_WORD("southwest")},
    {UF_WORD("ter"), UF_WORD("terrace")},
    {UF_WORD("terr"), UF_WORD("terrace")},
    {UF_WORD("tpke"), UF_WORD("turnpike")},
    {UF_WORD("trl"), UF_WORD("trail")},
    {UF_WORD("w"), UF_WORD("west")},
    {UF_WORD("xing"), UF_WORD("crossing")},
};

/* Sorted by name (byte order); names as uf_fold_text writes them. */
static const abbreviation country_aliases[] = {
    {UF_WORD("albania"), UF_WORD("AL")},
    {UF_WORD("algeria"), UF_WORD("DZ")},
    {UF_WORD("america"), UF_WORD("US")},
    {UF_WORD("and"), UF_WORD("AD")},
    {UF_WORD("andorra"), UF_WORD("AD")},
    {UF_WORD("are"), UF_WORD("AE")},
    {UF_WORD("arg"), UF_WORD("AR")},
    {UF_WORD("argentina"), UF_WORD("AR")},
    {UF_WORD("armenia"), UF_WORD("AM")},
    {UF_WORD("aus"), UF_WORD("AU")},
    {UF_WORD("australia"), UF_WORD("AU")},
    {UF_WORD("austria"), UF_WORD("AT")},
    {UF_WORD("aut"), UF_WORD("AT")},
    {UF_WORD("azerbaijan"), UF_WORD("AZ")},
    {UF_WORD("bahrain"), UF_WORD("BH")},
    {UF_WORD("bangladesh"), UF_WORD("BD")},
    {UF_WORD("bel"), UF_WORD("BE")},
    {UF_WORD("belarus"), UF_WORD("BY")},
    {UF_WORD("belgie"), UF_WORD("BE")},
    {UF_WORD("belgique"), UF_WORD("BE")},
    {UF_WORD("belgium"), UF_WORD("BE")},
    {UF_WORD("bgd"), UF_WORD("BD")},
    {UF_WORD("bgr"), UF_WORD("BG")},
    {UF_WORD("bolivia"), UF_WORD("BO")},
    {UF_WORD("bosnia"), UF_WORD("BA")},
    {UF_WORD("bosnia and herzegovina"), UF_WORD("BA")},
    {UF_WORD("bra"), UF_WORD("BR")},
    {UF_WORD("brasil"), UF_WORD("BR")},
    {UF_WORD("brazil"), UF_WORD("BR")},
    {UF_WORD("britain"), UF_WORD("GB")},
    {UF_WORD("bulgaria"), UF_WORD("BG")},
    {UF_WORD("can"), UF_WORD("CA")},
    {UF_WORD("canada"), UF_WORD("CA")},
    {UF_WORD("che"), UF_WORD("CH")},
    {UF_WORD("chile"), UF_WORD("CL")},
    {UF_WORD("china"), UF_WORD("CN")},
    {UF_WORD("chl"), UF_WORD("CL")},
    {UF_WORD("chn"), UF_WORD("CN")},
    {UF_WORD("col"), UF_WORD("CO")},
    {UF_WORD("colombia"), UF_WORD("CO")},
    {UF_WORD("costa rica"), UF_WORD("CR")},
    {UF_WORD("croatia"), UF_WORD("HR")},
    {UF_WORD("cuba"), UF_WORD("CU")},
    {UF_WORD("cyp"), UF_WORD("CY")},
    {UF_WORD("cyprus"), UF_WORD("CY")},
    {UF_WORD("cze"), UF_WORD("CZ")},
    {UF_WORD("czech republic"), UF_WORD("CZ")},
    {UF_WORD("czechia"), UF_WORD("CZ")},
    {UF_WORD("danmark"), UF_WORD("DK")},
    {UF_WORD("denmark"), UF_WORD("DK")},
    {UF_WORD("deu"), UF_WORD("DE")},
    {UF_WORD("deutschland"), UF_WORD("DE")},
    {UF_WORD("dnk"), UF_WORD("DK")},
    {UF_WORD("dominican republic"), UF_WORD("DO")},
    {UF_WORD("ecuador"), UF_WORD("EC")},
    {UF_WORD("egy"), UF_WORD("EG")},
    {UF_WORD("egypt"), UF_WORD("EG")},
    {UF_WORD("eire"), UF_WORD("IE")},
    {UF_WORD("england"), UF_WORD("GB")},
    {UF_WORD("esp"), UF_WORD("ES")},
    {UF_WORD("espana"), UF_WORD("ES")},
    {UF_WORD("est"), UF_WORD("EE")},
    {UF_WORD("estonia"), UF_WORD("EE")},
    {UF_WORD("ethiopia"), UF_WORD("ET")},
    {UF_WORD("federal republic of germany"), UF_WORD("DE")},
    {UF_WORD("fin"), UF_WORD("FI")},
    {UF_WORD("finland"), UF_WORD("FI")},
    {UF_WORD("fra"), UF_WORD("FR")},
    {UF_WORD("france"), UF_WORD("FR")},
    {UF_WORD("gbr"), UF_WORD("GB")},
    {UF_WORD("georgia"), UF_WORD("GE")},
    {UF_WORD("germany"), UF_WORD("DE")},
    {UF_WORD("ghana"), UF_WORD("GH")},
    {UF_WORD("grc"), UF_WORD("GR")},
    {UF_WORD("great britain"), UF_WORD("GB")},
    {UF_WORD("greece"), UF_WORD("GR")},
    {UF_WORD("guatemala"), UF_WORD("GT")},
    {UF_WORD("hkg"), UF_WORD("HK")},
    {UF_WORD("holland"), UF_WORD("NL")},
    {UF_WORD("holy see"), UF_WORD("VA")},
    {UF_WORD("hong kong"), UF_WORD("HK")},
    {UF_WORD("hrv"), UF_WORD("HR")},
    {UF_WORD("hun"), UF_WORD("HU")},
    {UF_WORD("hungary"), UF_WORD("HU")},
    {UF_WORD("iceland"), UF_WORD("IS")},
    {UF_WORD("idn"), UF_WORD("ID")},
    {UF_WORD("ind"), UF_WORD("IN")},
    {UF_WORD("india"), UF_WORD("IN")},
    {UF_WORD("indonesia"), UF_WORD("ID")},
    {UF_WORD("iran"), UF_WORD("IR")},
    {UF_WORD("iraq"), UF_WORD("IQ")},
    {UF_WORD("ireland"), UF_WORD("IE")},
    {UF_WORD("irl"), UF_WORD("IE")},
    {UF_WORD("isl"), UF_WORD("IS")},
    {UF_WORD("isr"), UF_WORD("IL")},
    {UF_WORD("israel"), UF_WORD("IL")},
    {UF_WORD("ita"), UF_WORD("IT")},
    {UF_WORD("italia"), UF_WORD("IT")},
    {UF_WORD("italy"), UF_WORD("IT")},
    {UF_WORD("jamaica"), UF_WORD("JM")},
    {UF_WORD("japan"), UF_WORD("JP")},
    {UF_WORD("jordan"), UF_WORD("JO")},
    {UF_WORD("jpn"), UF_WORD("JP")},
    {UF_WORD("kaz"), UF_WORD("KZ")},
    {UF_WORD("kazakhstan"), UF_WORD("KZ")},
    {UF_WORD("ken"), UF_WORD("KE")},
    {UF_WORD("kenya"), UF_WORD("KE")},
    {UF_WORD("kor"), UF_WORD("KR")},
    {UF_WORD("korea"), UF_WORD("KR")},
    {UF_WORD("korea republic of"), UF_WORD("KR")},
    {UF_WORD("kosovo"), UF_WORD("XK")},
    {UF_WORD("kuwait"), UF_WORD("KW")},
    {UF_WORD("kwt"), UF_WORD("KW")},
    {UF_WORD("latvia"), UF_WORD("LV")},
    {UF_WORD("lebanon"), UF_WORD("LB")},
    {UF_WORD("lie"), UF_WORD("LI")},
    {UF_WORD("liechtenstein"), UF_WORD("LI")},
    {UF_WORD("lithuania"), UF_WORD("LT")},
    {UF_WORD("lka"), UF_WORD("LK")},
    {UF_WORD("ltu"), UF_WORD("LT")},
    {UF_WORD("lux"), UF_WORD("LU")},
    {UF_WORD("luxembourg"), UF_WORD("LU")},
    {UF_WORD("lva"), UF_WORD("LV")},
    {UF_WORD("macao"), UF_WORD("MO")},
    {UF_WORD("macau"), UF_WORD("MO")},
    {UF_WORD("macedonia"), UF_WORD("MK")},
    {UF_WORD("malaysia"), UF_WORD("MY")},
    {UF_WORD("malta"), UF_WORD("MT")},
    {UF_WORD("mar"), UF_WORD("MA")},
    {UF_WORD("mco"), UF_WORD("MC")},
    {UF_WORD("mex"), UF_WORD("MX")},
    {UF_WORD("mexico"), UF_WORD("MX")},
    {UF_WORD("mlt"), UF_WORD("MT")},
    {UF_WORD("moldova"), UF_WORD("MD")},
    {UF_WORD("monaco"), UF_WORD("MC")},
    {UF_WORD("montenegro"), UF_WORD("ME")},
    {UF_WORD("morocco"), UF_WORD("MA")},
    {UF_WORD("mys"), UF_WORD("MY")},
    {UF_WORD("nederland"), UF_WORD("NL")},
    {UF_WORD("nepal"), UF_WORD("NP")},
    {UF_WORD("netherlands"), UF_WORD("NL")},
    {UF_WORD("new zealand"), UF_WORD("NZ")},
    {UF_WORD("nga"), UF_WORD("NG")},
    {UF_WORD("nigeria"), UF_WORD("NG")},
    {UF_WORD("nippon"), UF_WORD("JP")},
    {UF_WORD("nld"), UF_WORD("NL")},
    {UF_WORD("nor"), UF_WORD("NO")},
    {UF_WORD("norge"), UF_WORD("NO")},
    {UF_WORD("north korea"), UF_WORD("KP")},
    {UF_WORD("north macedonia"), UF_WORD("MK")},
    {UF_WORD("northern ireland"), UF_WORD("GB")},
    {UF_WORD("norway"), UF_WORD("NO")},
    {UF_WORD("nzl"), UF_WORD("NZ")},
    {UF_WORD("oesterreich"), UF_WORD("AT")},
    {UF_WORD("oman"), UF_WORD("OM")},
    {UF_WORD("osterreich"), UF_WORD("AT")},
    {UF_WORD("pak"), UF_WORD("PK")},
    {UF_WORD("pakistan"), UF_WORD("PK")},
    {UF_WORD("panama"), UF_WORD("PA")},
    {UF_WORD("paraguay"), UF_WORD("PY")},
    {UF_WORD("people s republic of china"), UF_WORD("CN")},
    {UF_WORD("peoples republic of china"), UF_WORD("CN")},
    {UF_WORD("per"), UF_WORD("PE")},
    {UF_WORD("peru"), UF_WORD("PE")},
    {UF_WORD("philippines"), UF_WORD("PH")},
    {UF_WORD("phl"), UF_WORD("PH")},
    {UF_WORD("pol"), UF_WORD("PL")},
    {UF_WORD("poland"), UF_WORD("PL")},
    {UF_WORD("polska"), UF_WORD("PL")},
    {UF_WORD("portugal"), UF_WORD("PT")},
    {UF_WORD("prc"), UF_WORD("CN")},
    {UF_WORD("pri"), UF_WORD("PR")},
    {UF_WORD("prt"), UF_WORD("PT")},
    {UF_WORD("puerto rico"), UF_WORD("PR")},
    {UF_WORD("qat"), UF_WORD("QA")},
    {UF_WORD("qatar"), UF_WORD("QA")},
    {UF_WORD("republic of china"), UF_WORD("TW")},
    {UF_WORD("republic of ireland"), UF_WORD("IE")},
    {UF_WORD("republic of korea"), UF_WORD("KR")},
    {UF_WORD("romania"), UF_WORD("RO")},
    {UF_WORD("rou"), UF_WORD("RO")},
    {UF_WORD("rus"), UF_WORD("RU")},
    {UF_WORD("russia"), UF_WORD("RU")},
    {UF_WORD("russian federation"), UF_WORD("RU")},
    {UF_WORD("san marino"), UF_WORD("SM")},
    {UF_WORD("sau"), UF_WORD("SA")},
    {UF_WORD("saudi arabia"), UF_WORD("SA")},
    {UF_WORD("schweiz"), UF_WORD("CH")},
    {UF_WORD("scotland"), UF_WORD("GB")},
    {UF_WORD("serbia"), UF_WORD("RS")},
    {UF_WORD("sgp"), UF_WORD("SG")},
    {UF_WORD("singapore"), UF_WORD("SG")},
    {UF_WORD("slovakia"), UF_WORD("SK")},
    {UF_WORD("slovenia"), UF_WORD("SI")},
    {UF_WORD("south africa"), UF_WORD("ZA")},
    {UF_WORD("south korea"), UF_WORD("KR")},
    {UF_WORD("spain"), UF_WORD("ES")},
    {UF_WORD("srb"), UF_WORD("RS")},
    {UF_WORD("sri lanka"), UF_WORD("LK")},
    {UF_WORD("suisse"), UF_WORD("CH")},
    {UF_WORD("suomi"), UF_WORD("FI")},
    {UF_WORD("sverige"), UF_WORD("SE")},
    {UF_WORD("svizzera"), UF_WORD("CH")},
    {UF_WORD("svk"), UF_WORD("SK")},
    {UF_WORD("svn"), UF_WORD("SI")},
    {UF_WORD("swe"), UF_WORD("SE")},
    {UF_WORD("sweden"), UF_WORD("SE")},
    {UF_WORD("switzerland"), UF_WORD("CH")},
    {UF_WORD("taiwan"), UF_WORD("TW")},
    {UF_WORD("tanzania"), UF_WORD("TZ")},
    {UF_WORD("tha"), UF_WORD("TH")},
    {UF_WORD("thailand"), UF_WORD("TH")},
    {UF_WORD("tunisia"), UF_WORD("TN")},
    {UF_WORD("tur"), UF_WORD("TR")},
    {UF_WORD("turkey"), UF_WORD("TR")},
    {UF_WORD("turkiye"), UF_WORD("TR")},
    {UF_WORD("twn"), UF_WORD("TW")},
    {UF_WORD("uae"), UF_WORD("AE")},
    {UF_WORD("uk"), UF_WORD("GB")},
    {UF_WORD("ukr"), UF_WORD("UA")},
    {UF_WORD("ukraine"), UF_WORD("UA")},
    {UF_WORD("united arab emirates"), UF_WORD("AE")},
    {UF_WORD("united kingdom"), UF_WORD("GB")},
    {UF_WORD("united kingdom of great britain and northern ireland"), UF_WORD("GB")},
    {UF_WORD("united states"), UF_WORD("US")},
    {UF_WORD("united states of america"), UF_WORD("US")},
    {UF_WORD("uruguay"), UF_WORD("UY")},
    {UF_WORD("usa"), UF_WORD("US")},
    {UF_WORD("vatican"), UF_WORD("VA")},
    {UF_WORD("vatican city"), UF_WORD("VA")},
    {UF_WORD("venezuela"), UF_WORD("VE")},
    {UF_WORD("viet nam"), UF_WORD("VN")},
    {UF_WORD("vietnam"), UF_WORD("VN")},
    {UF_WORD("vnm"), UF_WORD("VN")},
    {UF_WORD("wales"), UF_WORD("GB")},
    {UF_WORD("zaf"), UF_WORD("ZA")},
};

/* Every assigned ISO 3166-1 alpha-2 code (and XK), sorted, two letters each. */
static const char iso_alpha2[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCD"
    "CFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGF"
    "GGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKN"
    "KPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNA"
    "NCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSI"
    "SJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVI"
    "VNVUWFWSXKYEYTZAZMZW";

/* Longest word of street_abbreviations: longer words (most) need no search. */
#define STREET_ABBREVIATION_MAX 4

static const uf_word address_placeholders[] = {
    UF_WORD("address"), UF_WORD("city"), UF_WORD("n a"), UF_WORD("na"), UF_WORD("nan"),
    UF_WORD("nfa"), UF_WORD("nil"), UF_WORD("no address"), UF_WORD("no fixed abode"),
    UF_WORD("none"), UF_WORD("not available"), UF_WORD("not known"), UF_WORD("not provided"),
    UF_WORD("null"), UF_WORD("same"), UF_WORD("same as above"), UF_WORD("street"), UF_WORD("tba"),
    UF_WORD("tbd"), UF_WORD("test"), UF_WORD("unknown"), UF_WORD("x"), UF_WORD("xx"),
    UF_WORD("xxx"),
};

static const uf_word *lookup(const abbreviation *table, size_t count, const char *w, size_t n)
{
    ptrdiff_t i = uf_word_search(w, n, table, count, sizeof table[0]);
    return i < 0 ? NULL : &table[i].expansion;
}

static bool is(const char *w, size_t n, const char *lit, size_t lit_len)
{
    return n == lit_len && memcmp(w, lit, n) == 0;
}

typedef struct span {
    size_t off, len;
} span;

static bool starts_with_digit(const char *s, span w)
{
    return w.len > 0 && s[w.off] >= '0' && s[w.off] <= '9';
}

static const uf_word unit_words[] = {
    UF_WORD("apt"), UF_WORD("apartment"), UF_WORD("unit"), UF_WORD("ste"), UF_WORD("suite"),
    UF_WORD("fl"), UF_WORD("flr"), UF_WORD("floor"), UF_WORD("flat"), UF_WORD("rm"),
    UF_WORD("room"), UF_WORD("bldg"), UF_WORD("building"), UF_WORD("no"), UF_WORD("number"),
    UF_WORD("box"), UF_WORD("lot"), UF_WORD("space"), UF_WORD("level"),
};

static const uf_word street_type_prefixes[] = {
    UF_WORD("rue"), UF_WORD("avenue"), UF_WORD("av"), UF_WORD("ave"), UF_WORD("boulevard"),
    UF_WORD("blvd"), UF_WORD("place"), UF_WORD("pl"), UF_WORD("chemin"), UF_WORD("route"),
    UF_WORD("allee"), UF_WORD("quai"), UF_WORD("via"), UF_WORD("calle"), UF_WORD("rua"),
    UF_WORD("strada"),
};

static const uf_word directions[] = {
    UF_WORD("n"), UF_WORD("s"), UF_WORD("e"), UF_WORD("w"), UF_WORD("ne"), UF_WORD("nw"),
    UF_WORD("se"), UF_WORD("sw"),
};

/* Append a word (with a separating space) to out. */
static bool append_word(char *out, size_t *len, const char *w, size_t n)
{
    size_t need = (*len ? 1 : 0) + n;
    if (*len + need > UF_NORM_MAX)
        return false;
    if (*len)
        out[(*len)++] = ' ';
    memcpy(out + *len, w, n);
    *len += n;
    return true;
}

#define ADDRESS_PLACEHOLDER_MAX 14 /* longest entry of address_placeholders */

static bool is_placeholder(const char *s, size_t n)
{
    return n <= ADDRESS_PLACEHOLDER_MAX &&
           uf_word_in_sorted(s, n, address_placeholders, UF_ARRAY_LEN(address_placeholders));
}

static const uf_word w_saint = UF_WORD("saint"), w_sainte = UF_WORD("sainte"),
                     w_street = UF_WORD("street"), w_suite = UF_WORD("suite"),
                     w_fort = UF_WORD("fort"), w_mount = UF_WORD("mount");

/* Expansion of word i of a city name, or NULL to keep it. */
static const uf_word *expand_city_word(const char *w, size_t n)
{
    if (n > 3)
        return NULL; /* most words: none of the abbreviations below */
    if (is(w, n, "st", 2))
        return &w_saint;
    if (is(w, n, "ste", 3))
        return &w_sainte;
    if (is(w, n, "ft", 2))
        return &w_fort;
    if (is(w, n, "mt", 2))
        return &w_mount;
    return NULL;
}

/*
 * Expansion of word i of a street address, or NULL to keep it. `prev` is the
 * previous word as written to the output (already expanded), so that the
 * result does not change when the output is normalized again.
 */
static const uf_word *expand_street_word(const char *s, const span *words, size_t count, size_t i,
                                         const char *prev, size_t prev_len)
{
    const char *w = s + words[i].off;
    size_t n = words[i].len;
    /* Most words are longer than any abbreviation, or a number: nothing to look up. */
    if (n > STREET_ABBREVIATION_MAX || (w[0] >= '0' && w[0] <= '9'))
        return NULL;
    bool has_prev = i > 0, has_next = i + 1 < count;
    if (is(w, n, "st", 2)) {
        /* "saint" where a street name starts and another word follows. */
        bool starts_name = !has_prev || (prev_len && prev[0] >= '0' && prev[0] <= '9') ||
                           uf_word_in(prev, prev_len, street_type_prefixes,
                                      UF_ARRAY_LEN(street_type_prefixes));
        bool word_follows = has_next && !starts_with_digit(s, words[i + 1]) &&
                            !uf_word_in(s + words[i + 1].off, words[i + 1].len, unit_words,
                                        UF_ARRAY_LEN(unit_words));
        return starts_name && word_follows ? &w_saint : &w_street;
    }
    if (is(w, n, "ste", 3))
        return has_next && !starts_with_digit(s, words[i + 1]) ? &w_sainte : &w_suite;
    if (n <= 2 && has_prev && uf_word_in(w, n, directions, UF_ARRAY_LEN(directions)) &&
        uf_word_in(prev, prev_len, unit_words, UF_ARRAY_LEN(unit_words)))
        return NULL; /* "Apt E": a unit letter, not east */
    return lookup(street_abbreviations, UF_ARRAY_LEN(street_abbreviations), w, n);
}

/* Expand abbreviations word by word; `city` selects the city rules. */
static uf_norm_status expand(const char *s, size_t n, bool city, char *out, size_t *out_len)
{
    span words[UF_NORM_MAX / 2 + 1];
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && s[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && s[i] != ' ')
            i++;
        if (i > start) {
            words[count].off = start;
            words[count].len = i - start;
            count++;
        }
    }

    size_t len = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (size_t i = 0; i < count; i++) {
        const char *w = s + words[i].off;
        size_t wl = words[i].len;
        const uf_word *exp = city ? expand_city_word(w, wl)
                                  : expand_street_word(s, words, count, i, prev, prev_len);
        if (exp) {
            w = exp->text;
            wl = exp->len;
        }
        if (!append_word(out, &len, w, wl))
            return UF_NORM_INVALID;
        prev = w;
        prev_len = wl;
    }
    *out_len = len;
    return len ? UF_NORM_OK : UF_NORM_EMPTY;
}

static uf_norm_status normalize_place(uf_slice in, bool city, char *out, size_t *out_len)
{
    *out_len = 0;
    char folded[UF_NORM_MAX];
    size_t flen = 0;
    uf_norm_status st = uf_fold_text(in, NULL, folded, &flen);
    if (st != UF_NORM_OK)
        return st;
    if (is_placeholder(folded, flen))
        return UF_NORM_JUNK;
    st = expand(folded, flen, city, out, out_len);
    if (st == UF_NORM_OK && is_placeholder(out, *out_len))
        st = UF_NORM_JUNK; /* "st" alone expands to the placeholder "street" */
    if (st != UF_NORM_OK)
        *out_len = 0;
    return st;
}

uf_norm_status uf_normalize_address(uf_slice in, char *out, size_t *out_len)
{
    return normalize_place(in, false, out, out_len);
}

uf_norm_status uf_normalize_city(uf_slice in, char *out, size_t *out_len)
{
    return normalize_place(in, true, out, out_len);
}

/* ------------------------------------------------------------------ */
/* Postcode                                                            */
/* ------------------------------------------------------------------ */

uf_norm_status uf_normalize_postcode(uf_slice in, char *out, size_t *out_len)
{
    static const uf_word postcode_placeholders[] = {
    UF_WORD("NA"), UF_WORD("NAN"), UF_WORD("NIL"), UF_WORD("NONE"), UF_WORD("NOPOSTCODE"),
    UF_WORD("NOZIP"), UF_WORD("NULL"), UF_WORD("TBA"), UF_WORD("TBD"), UF_WORD("UNK"),
    UF_WORD("UNKNOWN"),
};
    enum { POSTCODE_MIN = 3, POSTCODE_MAX = 10 };
    *out_len = 0;
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t n = p ? in.len : 0;
    size_t len = 0;
    bool any = false, other_punct = false;
    char buf[UF_NORM_MAX];
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 32);
        if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            if (len == sizeof buf)
                return UF_NORM_INVALID;
            buf[len++] = (char)c;
            any = true;
        } else if (c == ' ' || c == '-' || c == '.' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        } else if (c == '/' || c == '?' || c == '*' || c == '_') {
            other_punct = true; /* as in "n/a", "?", "***": never part of a code */
        } else {
            return UF_NORM_INVALID; /* other punctuation, controls, NUL, non-ASCII */
        }
    }
    if (!any)
        return UF_NORM_EMPTY; /* only separators and punctuation */
    if (uf_word_in_sorted(buf, len, postcode_placeholders, UF_ARRAY_LEN(postcode_placeholders)))
        return UF_NORM_JUNK;
    if (other_punct)
        return UF_NORM_INVALID;
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        digits = digits && buf[i] >= '0' && buf[i] <= '9';
    if (digits && len == 9)
        len = 5; /* ZIP+4 */
    bool same = true;
    for (size_t i = 1; i < len; i++)
        same = same && buf[i] == buf[0];
    if (same)
        return UF_NORM_JUNK;
    if (len < POSTCODE_MIN || len > POSTCODE_MAX)
        return UF_NORM_INVALID;
    memcpy(out, buf, len);
    *out_len = len;
    return UF_NORM_OK;
}

/* ------------------------------------------------------------------ */
/* Country                                                             */
/* ------------------------------------------------------------------ */

/* The table entry for an upper-case alpha-2 code (static storage), or NULL. */
static const char *alpha2_find(char a, char b)
{
    size_t lo = 0, hi = (sizeof iso_alpha2 - 1) / 2;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *code = iso_alpha2 + 2 * mid;
        int c = a != code[0] ? a - code[0] : b - code[1];
        if (c == 0)
            return code;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const char *country_lookup(const char *s, size_t n)
{
    if (n == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z') {
        const char *code = alpha2_find((char)(s[0] - 32), (char)(s[1] - 32));
        if (code)
            return code;
    }
    const uf_word *code = lookup(country_aliases, UF_ARRAY_LEN(country_aliases), s, n);
    return code ? code->text : NULL;
}

uf_norm_status uf_normalize_country(uf_slice in, char *out, size_t *out_len)
{
    static const uf_word country_placeholders[] = {
    UF_WORD("country"), UF_WORD("n a"), UF_WORD("nan"), UF_WORD("nil"), UF_WORD("none"),
    UF_WORD("not known"), UF_WORD("not provided"), UF_WORD("null"), UF_WORD("other"),
    UF_WORD("tbd"), UF_WORD("test"), UF_WORD("unk"), UF_WORD("unknown"), UF_WORD("xx"),
    UF_WORD("xxx"), UF_WORD("zz"),
};
    *out_len = 0;
    char folded[UF_NORM_MAX];
    size_t flen = 0;
    uf_norm_status st = uf_fold_text(in, NULL, folded, &flen);
    if (st != UF_NORM_OK)
        return st;
    if (uf_word_in_sorted(folded, flen, country_placeholders, UF_ARRAY_LEN(country_placeholders)))
        return UF_NORM_JUNK;
    const char *s = folded;
    size_t n = flen;
    if (n > 4 && memcmp(s, "the ", 4) == 0) {
        s += 4;
        n -= 4;
    }
    const char *code = country_lookup(s, n);
    if (!code && memchr(s, ' ', n)) {
        /* "U.S.A." folds to "u s a": try it without the spaces. */
        char compact[UF_NORM_MAX];
        size_t cl = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] != ' ')
                compact[cl++] = s[i];
        code = country_lookup(compact, cl);
    }
    if (!code)
        return UF_NORM_INVALID;
    out[0] = code[0];
    out[1] = code[1];
    *out_len = 2;
    return UF_NORM_OK;
}
