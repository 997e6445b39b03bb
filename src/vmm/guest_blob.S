/* guest_blob.S - embed the flattened trampoline (build/guest/guest.bin) in libvmm. */
	.section .rodata
	.balign 16
	.globl guest_blob
guest_blob:
	.incbin GUEST_BIN
	.globl guest_blob_end
guest_blob_end:
	.section .note.GNU-stack,"",@progbits
