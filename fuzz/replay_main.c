/* A main() for the fuzz targets without libFuzzer: runs each file given (or
 * each file of each folder given) through LLVMFuzzerTestOneInput once. ctest
 * uses it to replay the seed and regression corpora in every build, so an
 * input that once failed keeps being checked where no fuzzer is built. A
 * crash, a sanitizer report or an abort in a target fails the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open '%s'\n", path);
    return 1;
  }
  size_t capacity = 4096, size = 0;
  unsigned char *data = malloc(capacity);
  size_t n;
  while (data && (n = fread(data + size, 1, capacity - size, f)) > 0) {
    size += n;
    if (size == capacity) {
      unsigned char *grown = realloc(data, capacity *= 2);
      if (!grown)
        free(data);
      data = grown;
    }
  }
  fclose(f);
  if (!data) {
    fprintf(stderr, "replay: out of memory reading '%s'\n", path);
    return 1;
  }
  /* An exact-size copy, so a read past the input's end is caught under ASan. */
  unsigned char *exact = malloc(size ? size : 1);
  if (!exact) {
    free(data);
    return 1;
  }
  memcpy(exact, data, size);
  free(data);
  int result = LLVMFuzzerTestOneInput(exact, size);
  free(exact);
  if (result != 0)
    fprintf(stderr, "replay: '%s' was rejected by the target (%d)\n", path, result);
  return result != 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of dir in name order, so runs replay the same sequence. */
static int replay_dir(const char *dir, long *count) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "replay: cannot open folder '%s'\n", dir);
    return 1;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  int failures = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char **grown = realloc(names, (n + 1) * sizeof *names);
    if (!grown) {
      failures = 1;
      break;
    }
    names = grown;
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    if (!(names[n] = malloc(len))) {
      failures = 1;
      break;
    }
    snprintf(names[n++], len, "%s/%s", dir, e->d_name);
  }
  closedir(d);
  if (names)
    qsort(names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n; ++i) {
    struct stat st;
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      failures += replay_file(names[i]);
      ++*count;
    }
    free(names[i]);
  }
  free(names);
  return failures;
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  long count = 0;
  int failures = 0;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-')
      continue; /* libFuzzer flags, for a command line shared with the fuzzer */
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no file or folder '%s'\n", argv[i]);
      ++failures;
    } else if (S_ISDIR(st.st_mode)) {
      failures += replay_dir(argv[i], &count);
    } else {
      failures += replay_file(argv[i]);
      ++count;
    }
  }
  printf("replayed %ld inputs, %d failed\n", count, failures);
  return failures != 0;
}
