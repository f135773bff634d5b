/*
 * dcmi_power: an ipmi_sim module that answers two DCMI commands (group extension DCh, netfn 2Ch) so the
 * EnergyRecorder tests can exercise the DCMI path against the real OpenIPMI simulator, which has no DCMI.
 *
 * Loaded from lan.conf with:   loadlib "<dir>/dcmi_power.so" "<path of a file holding the watts as text>"
 *
 * - Get DCMI Capabilities Info (cmd 01h), parameter 1 (supported capabilities): power management supported.
 * - Get Power Reading (cmd 02h), mode 01h (system power statistics): current/min/max/average = the watts in
 *   the file, measurement state "active" (bit 6 of the last byte). A missing or empty file answers with the
 *   measurement inactive, which lets a test check the SDR fallback.
 *
 * Byte layouts follow the DCMI v1.5 specification, section 6.1 and 6.6.1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <OpenIPMI/mcserv.h>

#define DCMI_GROUP 0xdc
#define CC_INVALID_COMMAND 0xc1
#define CC_INVALID_DATA 0xcc
#define CC_LENGTH_INVALID 0xc7

static char watts_path[1024];

static int read_watts(unsigned int *watts)
{
    FILE *f = fopen(watts_path, "r");
    unsigned int value;
    int ok;

    if (!f)
        return 0;
    ok = fscanf(f, "%u", &value) == 1;
    fclose(f);
    if (!ok || value > 0xffff)
        return 0;
    *watts = value;
    return 1;
}

static void put16(unsigned char *p, unsigned int v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
}

static void put32(unsigned char *p, unsigned long v)
{
    put16(p, v & 0xffff);
    put16(p + 2, (v >> 16) & 0xffff);
}

static void answer_capabilities(msg_t *msg, unsigned char *rdata, unsigned int *rdata_len)
{
    if (msg->len < 2) {
        rdata[0] = CC_LENGTH_INVALID;
        *rdata_len = 1;
        return;
    }
    if (msg->data[1] != 1) {
        rdata[0] = CC_INVALID_DATA;
        *rdata_len = 1;
        return;
    }
    rdata[0] = 0;
    rdata[1] = DCMI_GROUP;
    rdata[2] = 0x01; /* DCMI major version */
    rdata[3] = 0x05; /* DCMI minor version */
    rdata[4] = 0x02; /* parameter revision */
    rdata[5] = 0x00; /* reserved */
    rdata[6] = 0x01; /* platform capabilities: power management */
    rdata[7] = 0x08; /* manageability access: primary LAN channel */
    *rdata_len = 8;
}

static void answer_power_reading(msg_t *msg, unsigned char *rdata, unsigned int *rdata_len)
{
    unsigned int watts = 0;
    int active;

    if (msg->len < 4) {
        rdata[0] = CC_LENGTH_INVALID;
        *rdata_len = 1;
        return;
    }
    if (msg->data[1] != 0x01) {
        rdata[0] = CC_INVALID_DATA;
        *rdata_len = 1;
        return;
    }
    active = read_watts(&watts);
    memset(rdata, 0, 19);
    rdata[0] = 0;
    rdata[1] = DCMI_GROUP;
    put16(rdata + 2, watts); /* current */
    put16(rdata + 4, watts); /* minimum over the period */
    put16(rdata + 6, watts); /* maximum over the period */
    put16(rdata + 8, watts); /* average over the period */
    put32(rdata + 10, (unsigned long) time(NULL));
    put32(rdata + 14, 1000); /* statistics reporting period, ms */
    rdata[18] = active ? 0x40 : 0x00;
    *rdata_len = 19;
}

static void handle_dcmi(lmc_data_t *mc, msg_t *msg, unsigned char *rdata, unsigned int *rdata_len, void *cb_data)
{
    (void) mc;
    (void) cb_data;
    switch (msg->cmd) {
    case 0x01:
        answer_capabilities(msg, rdata, rdata_len);
        break;
    case 0x02:
        answer_power_reading(msg, rdata, rdata_len);
        break;
    default:
        rdata[0] = CC_INVALID_COMMAND;
        *rdata_len = 1;
        break;
    }
}

int ipmi_sim_module_print_version(sys_data_t *sys, char *options)
{
    (void) sys;
    (void) options;
    printf("dcmi_power test module 1.0\n");
    return 0;
}

int ipmi_sim_module_init(sys_data_t *sys, char *options)
{
    (void) sys;
    if (!options || !*options) {
        fprintf(stderr, "dcmi_power: the module option must be the path of the watts file\n");
        return 1;
    }
    strncpy(watts_path, options, sizeof(watts_path) - 1);
    watts_path[sizeof(watts_path) - 1] = '\0';
    ipmi_emu_register_group_extension_handler(DCMI_GROUP, handle_dcmi, NULL);
    return 0;
}
