/* main.c — embedding generated code: run a tiny Llama-style decoder compiled by xfc and print the
 * most likely next token after each position. Everything the model needs is in llama.c/llama.h;
 * this file only supplies the memory and the input. */
#include <stdalign.h>
#include <stdio.h>

#include "llama.h"

/* The arena: scratch memory for intermediates, sized exactly at compile time. */
static alignas(64) unsigned char arena[LLAMA_ARENA_BYTES];

int main(void) {
    /* 16 token ids (the model's vocabulary has 512 entries). */
    static const int64_t tokens[16] = {1, 15, 87, 230, 7, 451, 12, 99, 300, 2, 64, 128, 256, 3, 5, 8};
    static float logits[16 * 512];
    const void *inputs[LLAMA_NUM_INPUTS] = {tokens};
    void *outputs[LLAMA_NUM_OUTPUTS] = {logits};

    int rc = llama_run(arena, inputs, outputs);
    if (rc != XFC_OK) {
        fprintf(stderr, "llama_run failed: %d\n", rc);
        return 1;
    }
    printf("input  %s: int64[%lld,%lld]\n", llama_inputs[0].name, (long long)llama_inputs[0].shape[0],
           (long long)llama_inputs[0].shape[1]);
    printf("arena  %d bytes\n", LLAMA_ARENA_BYTES);
    for (int t = 0; t < 16; t++) {
        const float *row = &logits[t * 512];
        int best = 0;
        for (int v = 1; v < 512; v++)
            if (row[v] > row[best]) best = v;
        printf("position %2d: token %3lld -> next token %3d (logit %.4f)\n", t, (long long)tokens[t], best, row[best]);
    }
    return 0;
}
