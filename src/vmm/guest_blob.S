/* guest_blob.S - embed the flattened trampoline (build/guest/guest.bin) and the guest's
 * vDSO (build/guest/vdso.so) in libvmm. */
	.section .rodata
	.balign 16
	.globl guest_blob
guest_blob:
	.incbin GUEST_BIN
	.globl guest_blob_end
guest_blob_end:
	.balign 4096
	.globl vdso_blob
vdso_blob:
	.incbin VDSO_SO
	.globl vdso_blob_end
vdso_blob_end:
	.section .note.GNU-stack,"",@progbits
