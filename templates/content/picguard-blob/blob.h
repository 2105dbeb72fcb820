#ifndef BLOB_H
#define BLOB_H

/* Filled in by whoever loads the blob (kexec writes such variables before it jumps). */
extern unsigned long blob_region_start;
extern unsigned long blob_region_size;

unsigned long blob_checksum(const unsigned char *data, unsigned long size);
int blob_main(void);

#endif
