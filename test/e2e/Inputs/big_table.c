/* embed-weights-1gb.test's two halves:
 *
 *   big_table write FILE   writes big_table.kiln's weights: table[i][j] = i + j / 1024
 *   big_table check        looks rows up in the library's embedded weights
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef BIG_TABLE_CHECK
#include "big_table.h"
#endif

#define ROWS 262144
#define COLS 1024

static float value(int64_t row, int64_t col) { return (float)row + (float)col / COLS; }

static int write_file(const char *path) {
  char header[256];
  int len = snprintf(header, sizeof header,
                     "{\"table\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[0,%llu]}}",
                     ROWS, COLS, (unsigned long long)ROWS * COLS * sizeof(float));
  while (len % 8) /* the data section 8-byte aligned, as writers pad it */
    header[len++] = ' ';
  FILE *f = fopen(path, "wb");
  if (!f)
    return perror(path), 1;
  unsigned char length[8];
  for (int i = 0; i < 8; ++i)
    length[i] = (unsigned char)((uint64_t)len >> (8 * i));
  fwrite(length, 1, 8, f);
  fwrite(header, 1, (size_t)len, f);
  static float row[COLS];
  for (int64_t i = 0; i < ROWS; ++i) {
    for (int64_t j = 0; j < COLS; ++j)
      row[j] = value(i, j);
    fwrite(row, sizeof row, 1, f);
  }
  int failed = ferror(f); /* before fclose, which frees f */
  failed |= fclose(f) != 0;
  return failed ? (perror(path), 1) : 0;
}

#ifdef BIG_TABLE_CHECK
static int check(void) {
  big_table_model *model = NULL;
  int status = big_table_create(NULL, NULL, &model);
  printf("create: status %d %s\n", status, big_table_last_error(NULL));
  if (status)
    return 1;
  const int64_t ids[4] = {0, 1, 131071, ROWS - 1};
  static float out[4][COLS];
  status = big_table_lookup(model, 4, ids, &out[0][0]);
  int wrong = 0;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < COLS; ++j)
      wrong += out[i][j] != value(ids[i], j);
  printf("lookup: status %d, %d of %d values wrong\n", status, wrong, 4 * COLS);
  big_table_destroy(model);
  return status || wrong;
}
#endif

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "write") == 0)
    return write_file(argv[2]);
#ifdef BIG_TABLE_CHECK
  if (argc == 2 && strcmp(argv[1], "check") == 0)
    return check();
#endif
  fprintf(stderr, "usage: %s write FILE | check\n", argv[0]);
  return 2;
}
