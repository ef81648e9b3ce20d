//! `plec datagen`: synthetic and converted data sets (in progress).
