/**
 * STM32 parts recognised from the DfuSe internal flash map (AN2606 "STM32 microcontroller
 * system memory boot mode", DFU bootloader sections; RM0090 §3.3 for the F4 sector layout,
 * RM0351 §3.3.1 for the L47x/48x's 2 KiB pages).
 * Data only.
 */

/**
 * The USB identity of ST's DFU bootloader in every STM32 that has one (AN2606 "USB DFU
 * bootloader": STMicroelectronics 0483, product DF11), which speaks DfuSe.
 */
export const ST_DFU_BOOTLOADER = { vendorId: 0x0483, productId: 0xdf11 } as const;

export interface DfuseChip {
  /** Machine id as used in bundle targets. */
  chip: string;
  name: string;
}

/** Internal flash maps (the part after the name) → chip. */
const DFUSE_CHIPS: readonly { flashMap: RegExp; chip: DfuseChip }[] = [
  {
    flashMap: /^\/0x08000000\/04\*016Kg,01\*064Kg,07\*128Kg$/,
    chip: { chip: 'stm32f4', name: 'STM32F405/407/415/417 (1 MiB)' },
  },
  {
    flashMap: /^\/0x08000000\/04\*016Kg,01\*064Kg,03\*128Kg$/,
    chip: { chip: 'stm32f4', name: 'STM32F401/411 (512 KiB)' },
  },
  {
    flashMap: /^\/0x08000000\/04\*016Kg,01\*064Kg,07\*128Kg,04\*016Kg,01\*064Kg,07\*128Kg$/,
    chip: { chip: 'stm32f4', name: 'STM32F42x/43x (2 MiB)' },
  },
  {
    flashMap: /^\/0x08000000\/512\*0002Kg$/,
    chip: { chip: 'stm32l4', name: 'STM32L47x/48x (1 MiB)' },
  },
  {
    flashMap: /^\/0x08000000\/04\*032Kg,01\*128Kg,03\*256Kg$/,
    chip: { chip: 'stm32f7', name: 'STM32F74x/75x (1 MiB)' },
  },
];

/** Recognises a chip from the interface string of its internal flash alternate setting. */
export function chipFromFlashMap(interfaceName: string): DfuseChip | undefined {
  const slash = interfaceName.indexOf('/');
  if (slash < 0) return undefined;
  const map = interfaceName.slice(slash).replace(/\s+/g, '');
  return DFUSE_CHIPS.find((c) => c.flashMap.test(map))?.chip;
}
