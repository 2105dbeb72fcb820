#include "blob.h"

unsigned long blob_region_start;
unsigned long blob_region_size;
static unsigned long expected_checksum = 0;

/* Fletcher-style checksum: no library calls, no absolute addresses. */
unsigned long blob_checksum(const unsigned char *data, unsigned long size)
{
    unsigned long a = 1, b = 0;
    for (unsigned long i = 0; i < size; i++) {
        a = (a + data[i]) % 65521;
        b = (b + a) % 65521;
    }
    return (b << 16) | a;
}

int blob_main(void)
{
    const unsigned char *region = (const unsigned char *)blob_region_start;
    return blob_checksum(region, blob_region_size) == expected_checksum ? 0 : 1;
}
