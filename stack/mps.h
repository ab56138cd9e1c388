/* mps.h - public API of the mpstream stack (filled in below). */
