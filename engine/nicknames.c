/*
 * nicknames.c — canonical given names for nickname-aware comparison.
 *
 * The idea: "Bob Smith" and "Robert Smith" born the same day are one person
 * far more often than two, so the guards and the name comparator compare
 * uf_nickname_canonical(first) ?: first. The table maps common English
 * diminutives and spelling variants (bob, rob, robbie -> robert; liz, beth,
 * betty, eliza -> elizabeth; kathryn, catherine, kate -> katherine;
 * stephen/steve -> steven; micheal -> michael) to one canonical name.
 * Canonical names are never keys themselves, so one lookup is enough.
 *
 * Trade-offs:
 *  - Ambiguous short forms are left out on purpose: chris (christopher /
 *    christine), alex, sam, pat, jo, terry, val, fran, frankie, sandy, max,
 *    kit, hal (harold / henry), bert (albert / robert / herbert), jon and
 *    jonny (john / jonathan). Mapping them to one side would make
 *    "Chris" disagree with "Christine"; left out, they fall back to string
 *    similarity, where a shared prefix scores high.
 *  - A few forms that are mostly given names in their own right today
 *    (nathan, leo, nora, max, nancy) are left out for the same reason.
 *  - Input must already be normalized (uf_normalize_name: lower-case ASCII
 *    after folding); the table is sorted by byte value (LC_ALL=C order) and
 *    binary-searched: no allocation, no global mutable state.
 */
#include "normalize.h"

#include "keys.h"

#include <stdint.h>
#include <string.h>

/* Names are at most 15 bytes, zero-padded to 16 by their initializers: a
 * lookup compares two 64-bit words per probe instead of bytes in a loop
 * (the byte loop was ~4.6 % of reading the 1 M fixture). */
#define NICKNAME_BYTES 16

typedef struct nickname {
    char name[NICKNAME_BYTES];
    const char *canonical;
} nickname;

/* Sorted by `name` in byte order. */
static const nickname nicknames[] = {
    {"abbie", "abigail"},
    {"abby", "abigail"},
    {"al", "albert"},
    {"alf", "alfred"},
    {"alfie", "alfred"},
    {"allan", "alan"},
    {"allen", "alan"},
    {"andy", "andrew"},
    {"ann", "anne"},
    {"annie", "anne"},
    {"art", "arthur"},
    {"artie", "arthur"},
    {"babs", "barbara"},
    {"barb", "barbara"},
    {"barbie", "barbara"},
    {"becca", "rebecca"},
    {"becky", "rebecca"},
    {"bella", "isabella"},
    {"ben", "benjamin"},
    {"benji", "benjamin"},
    {"benny", "benjamin"},
    {"bertie", "albert"},
    {"bess", "elizabeth"},
    {"bessie", "elizabeth"},
    {"beth", "elizabeth"},
    {"betsy", "elizabeth"},
    {"bettie", "elizabeth"},
    {"betty", "elizabeth"},
    {"bill", "william"},
    {"billy", "william"},
    {"bob", "robert"},
    {"bobby", "robert"},
    {"brad", "bradley"},
    {"carrie", "caroline"},
    {"cate", "katherine"},
    {"cath", "katherine"},
    {"catherine", "katherine"},
    {"cathy", "katherine"},
    {"charlie", "charles"},
    {"chas", "charles"},
    {"chaz", "charles"},
    {"chuck", "charles"},
    {"cindy", "cynthia"},
    {"dan", "daniel"},
    {"danny", "daniel"},
    {"dave", "david"},
    {"davey", "david"},
    {"davy", "david"},
    {"deb", "deborah"},
    {"debbie", "deborah"},
    {"debby", "deborah"},
    {"debra", "deborah"},
    {"dick", "richard"},
    {"dickie", "richard"},
    {"dolly", "dorothy"},
    {"dom", "dominic"},
    {"don", "donald"},
    {"donnie", "donald"},
    {"donny", "donald"},
    {"dot", "dorothy"},
    {"dottie", "dorothy"},
    {"doug", "douglas"},
    {"drew", "andrew"},
    {"ed", "edward"},
    {"eddie", "edward"},
    {"eddy", "edward"},
    {"elisabeth", "elizabeth"},
    {"eliza", "elizabeth"},
    {"ellie", "eleanor"},
    {"em", "emily"},
    {"emmy", "emily"},
    {"ernie", "ernest"},
    {"fanny", "frances"},
    {"frank", "francis"},
    {"fred", "alfred"},
    {"freddie", "alfred"},
    {"freddy", "frederick"},
    {"fritz", "frederick"},
    {"gabe", "gabriel"},
    {"gene", "eugene"},
    {"geoff", "jeffrey"},
    {"geoffrey", "jeffrey"},
    {"gerry", "gerald"},
    {"ginny", "virginia"},
    {"greg", "gregory"},
    {"greta", "margaret"},
    {"gus", "augustus"},
    {"hank", "henry"},
    {"harry", "henry"},
    {"isabel", "isabella"},
    {"izzy", "isabella"},
    {"jack", "john"},
    {"jackie", "jacqueline"},
    {"jake", "jacob"},
    {"jamie", "james"},
    {"jeff", "jeffrey"},
    {"jeffery", "jeffrey"},
    {"jem", "james"},
    {"jen", "jennifer"},
    {"jenn", "jennifer"},
    {"jennie", "jennifer"},
    {"jenny", "jennifer"},
    {"jerry", "gerald"},
    {"jess", "jessica"},
    {"jessie", "jessica"},
    {"jim", "james"},
    {"jimmie", "james"},
    {"jimmy", "james"},
    {"joe", "joseph"},
    {"joey", "joseph"},
    {"johnny", "john"},
    {"josh", "joshua"},
    {"josie", "josephine"},
    {"judy", "judith"},
    {"kat", "katherine"},
    {"kate", "katherine"},
    {"katharine", "katherine"},
    {"kathrine", "katherine"},
    {"kathryn", "katherine"},
    {"kathy", "katherine"},
    {"katie", "katherine"},
    {"katy", "katherine"},
    {"ken", "kenneth"},
    {"kenny", "kenneth"},
    {"kim", "kimberly"},
    {"kitty", "katherine"},
    {"larry", "lawrence"},
    {"laurence", "lawrence"},
    {"len", "leonard"},
    {"lenny", "leonard"},
    {"liam", "william"},
    {"libby", "elizabeth"},
    {"lisbeth", "elizabeth"},
    {"liz", "elizabeth"},
    {"lizzie", "elizabeth"},
    {"lizzy", "elizabeth"},
    {"lou", "louis"},
    {"madge", "margaret"},
    {"maggie", "margaret"},
    {"mags", "margaret"},
    {"marge", "margaret"},
    {"margie", "margaret"},
    {"matt", "matthew"},
    {"matty", "matthew"},
    {"meg", "margaret"},
    {"micheal", "michael"},
    {"mick", "michael"},
    {"mickey", "michael"},
    {"micky", "michael"},
    {"mike", "michael"},
    {"mikey", "michael"},
    {"molly", "mary"},
    {"monty", "montgomery"},
    {"mort", "mortimer"},
    {"nan", "anne"},
    {"nat", "nathaniel"},
    {"nate", "nathaniel"},
    {"ned", "edward"},
    {"nell", "eleanor"},
    {"nellie", "eleanor"},
    {"nick", "nicholas"},
    {"nicky", "nicholas"},
    {"nico", "nicholas"},
    {"ollie", "oliver"},
    {"paddy", "patrick"},
    {"pam", "pamela"},
    {"patty", "patricia"},
    {"peggy", "margaret"},
    {"penny", "penelope"},
    {"pete", "peter"},
    {"phil", "philip"},
    {"phillip", "philip"},
    {"pip", "philip"},
    {"polly", "mary"},
    {"ray", "raymond"},
    {"rich", "richard"},
    {"richie", "richard"},
    {"rick", "richard"},
    {"ricky", "richard"},
    {"rob", "robert"},
    {"robbie", "robert"},
    {"robby", "robert"},
    {"ron", "ronald"},
    {"ronnie", "ronald"},
    {"ronny", "ronald"},
    {"rudy", "rudolph"},
    {"sadie", "sarah"},
    {"sally", "sarah"},
    {"sara", "sarah"},
    {"stan", "stanley"},
    {"stephen", "steven"},
    {"steve", "steven"},
    {"stevie", "steven"},
    {"sue", "susan"},
    {"susie", "susan"},
    {"suzie", "susan"},
    {"suzy", "susan"},
    {"ted", "edward"},
    {"teddy", "edward"},
    {"theo", "theodore"},
    {"thom", "thomas"},
    {"tim", "timothy"},
    {"timmy", "timothy"},
    {"tom", "thomas"},
    {"tommy", "thomas"},
    {"tony", "anthony"},
    {"topher", "christopher"},
    {"tori", "victoria"},
    {"tricia", "patricia"},
    {"trish", "patricia"},
    {"vicki", "victoria"},
    {"vicky", "victoria"},
    {"vince", "vincent"},
    {"vinny", "vincent"},
    {"wally", "walter"},
    {"walt", "walter"},
    {"will", "william"},
    {"willie", "william"},
    {"willy", "william"},
    {"wm", "william"},
    {"xander", "alexander"},
    {"zac", "zachary"},
    {"zach", "zachary"},
    {"zack", "zachary"},
};

/* Bytes 8*word .. 8*word+7 of a zero-padded name as a big-endian number, so that integer order is byte order. */
static uint64_t name_word(const char *padded, size_t word)
{
    return uf_be64_get(padded + 8 * word); /* (a bare byte swap was right on little-endian machines only) */
}

const char *uf_nickname_canonical(const char *name, size_t len)
{
    if (!name || len == 0 || len >= NICKNAME_BYTES)
        return NULL;
    char padded[NICKNAME_BYTES] = {0};
    memcpy(padded, name, len);
    uint64_t hi = name_word(padded, 0), lo = name_word(padded, 1);
    size_t first = 0, count = UF_ARRAY_LEN(nicknames);
    while (count > 0) {
        size_t half = count / 2;
        const char *key = nicknames[first + half].name;
        uint64_t key_hi = name_word(key, 0), key_lo = name_word(key, 1);
        if (key_hi == hi && key_lo == lo)
            return nicknames[first + half].canonical;
        if (key_hi < hi || (key_hi == hi && key_lo < lo)) {
            first += half + 1;
            count -= half + 1;
        } else {
            count = half;
        }
    }
    return NULL;
}
