#ifndef PURGATORY_H
#define PURGATORY_H

#define PURGATORY_REGIONS 16
#define DIGEST_SIZE 8

struct purgatory_region {
	unsigned long start;
	unsigned long len;
};

/* Filled in by the loader before the blob runs. */
extern struct purgatory_region purgatory_regions[PURGATORY_REGIONS];
extern unsigned char purgatory_digest[DIGEST_SIZE];

/* Declared here, defined in digest.c: reached PC-relative because externs are hidden. */
extern unsigned long digest_seed;

int verify_digest(const struct purgatory_region *regions, int count, const unsigned char *expected);
void purgatory(void);

#endif
