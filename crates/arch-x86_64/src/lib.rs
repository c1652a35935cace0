#![no_std]
//! arch
