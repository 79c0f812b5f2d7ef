/* Train the model exported by export_model.py with plain gradient descent, from C, without Python.

     cc -O2 -o build/train train.c -Ibuild -Lbuild -lmlp -Wl,-rpath,'$ORIGIN'
     ./build/train [steps]

   mlp.h lists the arguments of loss and grad_loss: the leaves of the parameter dict in tree_util
   order (b1, b2, b3, w1, w2, w3), then (grad_loss) the gradient's leaves in the same order. */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mlp.h"

#define LEAVES 6
#define LEARNING_RATE 0.1

static const size_t sizes[LEAVES] = {LOSS_IN0_SIZE, LOSS_IN1_SIZE, LOSS_IN2_SIZE,
                                     LOSS_IN3_SIZE, LOSS_IN4_SIZE, LOSS_IN5_SIZE};

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 2000;
  double *p[LEAVES], *g[LEAVES], value;
  for (int k = 0; k < LEAVES; k++) {
    p[k] = malloc(sizes[k] * sizeof(double));
    g[k] = malloc(sizes[k] * sizeof(double));
    for (size_t i = 0; i < sizes[k]; i++) p[k][i] = (double)((int)((i * 37 + 11 * k) % 101) - 50) / 250.0;
  }
  if (loss(p[0], p[1], p[2], p[3], p[4], p[5], &value) != MLP_OK) return 1;
  printf("loss before: %.17g\n", value);

  double start = seconds();
  for (int step = 0; step < steps; step++) {
    int rc = grad_loss(p[0], p[1], p[2], p[3], p[4], p[5], g[0], g[1], g[2], g[3], g[4], g[5]);
    if (rc != MLP_OK) {
      fprintf(stderr, "grad_loss failed with code %d\n", rc);
      return 1;
    }
    for (int k = 0; k < LEAVES; k++)
      for (size_t i = 0; i < sizes[k]; i++) p[k][i] -= LEARNING_RATE * g[k][i];
  }
  double elapsed = seconds() - start;

  if (loss(p[0], p[1], p[2], p[3], p[4], p[5], &value) != MLP_OK) return 1;
  printf("loss after %d steps: %.17g\n", steps, value);
  printf("%.2f us per gradient step (%d threads)\n", 1e6 * elapsed / (steps > 0 ? steps : 1), mlp_get_num_threads());
  for (int k = 0; k < LEAVES; k++)
    for (size_t i = 0; i < sizes[k]; i++) printf("param %d %zu %.17g\n", k, i, p[k][i]);
  return 0;
}
