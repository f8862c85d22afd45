<#
.SYNOPSIS
    The hosts boot of the integration suite: three guests (three kernels) on one --memory-file, plus this machine reading
    the memory file offline. Started by Invoke-Integration.ps1 -Boot hosts; returns that boot's entry.
.DESCRIPTION
    Guest A (HostsWriter.Tests.ps1, raw namespace) writes a 40 MiB static image into the shared memory with
    Write-DaxFsImage while guest B (HostsReader.Tests.ps1, raw namespace) keeps trying to mount it with mount(2); B then
    mounts it by physical range and guest C (HostsThird.Tests.ps1, the NVDIMM as dax0.0) by device, both read every file
    identical to the source and measure their page cache. A then writes a branching image there; A and B each make a
    sibling branch of it, C lists and compares both and is refused writing over them (Write-DaxFsImage, Remove- and
    New-DaxNamespace), A commits, B measures what its branch and its main mount show. Between those turns this machine
    reads the memory file offline (Get-DaxFsBranch, Compare-DaxFsBranch, Get-DaxFsItem -Branch main). The guests run sshd
    (openssh-server, Prerequisites.psd1), and docs/runbooks/Publish-DaxFsImageToFleet.ps1 and Get-DaxFsFleetInventory.ps1
    run across all three over PowerShell remoting (SSH). Then A and B switch to the format-8 module (when the kit has
    kernel/daxfs-v8.ko) and write one overlay image at once (HostsV8.Tests.ps1); this machine reads the memory file offline
    and compares with B's fresh mount of it (HostsV8.Host.ps1).

    To add a guest (another kernel on the same memory): a row in $GuestSpecs (Role, Boot, run-vm.sh options), its Boot
    name and Pester file in Invoke-GuestSuite.ps1; guests and this script take turns with Send-Signal/Wait-Signal (files
    in the sync folder; Hosts.Common.ps1 has the guests' side). A host step goes where the offline checks are.
#>
param(
    [Parameter(Mandatory)] [string] $Kit,
    [string[]] $KitArgs = @(),
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $DataPath,
    [int] $BootTimeout = 2400,
    # The format-8 daxfs.ko for the guests' kernel (default: the kit's kernel/daxfs-v8.ko), and why there is none when the
    # format-8 part cannot run (Invoke-Integration's reason: an own kernel given without one); that part is then skipped.
    [string] $KernelModule8,
    [string] $V8SkipReason,
    # Skip the fleet runbook over SSH even where sshd is installed.
    [switch] $NoFleet
)
# The guests, one VM each on the memory file: Role (the letter of its signals), Boot (Invoke-GuestSuite.ps1 -Boot: which
# Pester files it runs), KitArgs (its own run-vm.sh options). C turns the NVDIMM into dax0.0: its namespace metadata take
# the NVDIMM's first megabytes, so the images lie after them (C says where, sync/C-ready).
$GuestSpecs = @(
    @{ Role = 'A'; Boot = 'hosts-writer'; KitArgs = @() }
    @{ Role = 'B'; Boot = 'hosts-reader'; KitArgs = @() }
    @{ Role = 'C'; Boot = 'hosts-third'; KitArgs = @('--devdax') }
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$watch = [Diagnostics.Stopwatch]::StartNew()
$dir = Join-Path $DataPath 'hosts'
$sync = Join-Path $dir 'sync'
$results = Join-Path $DataPath 'results'
if (Test-Path $dir) { & rm -rf $dir }
New-Item -ItemType Directory -Force $dir, $sync, $results | Out-Null
Remove-Item (Join-Path $results 'hosts-*.json'), (Join-Path $results 'hostsv8-*.json'), (Join-Path $results 'mount-loop.txt') -ErrorAction Ignore
$checks = [Collections.Generic.List[object]]::new()
function Test-Fact([string] $Name, [bool] $Ok, [string] $Detail = '') {
    $checks.Add([pscustomobject]@{ Name = $Name; Ok = $Ok; Detail = $Detail })
    Write-Host ("  host: [{0}] {1}{2}" -f $(if ($Ok) { 'ok' } else { 'FAILED' }), $Name, $(if ($Detail) { " ($Detail)" } else { '' })) -ForegroundColor $(if ($Ok) { 'Green' } else { 'Red' })
}

# ---- the trees and images ----
$rng = [Random]::new(2020)
$src = Join-Path $dir 'src'
foreach ($d in 0..47) {
    $sub = Join-Path $src ('d{0:d2}' -f $d)
    New-Item -ItemType Directory -Force $sub | Out-Null
    foreach ($f in 0..9) { $b = [byte[]]::new($rng.Next(8KB, 160KB)); $rng.NextBytes($b); [IO.File]::WriteAllBytes((Join-Path $sub "f$f.bin"), $b) }
}
Set-Content (Join-Path $src 'hello.txt') 'hello from the pool'
New-Item -ItemType File (Join-Path $src 'empty') | Out-Null
New-Item -ItemType SymbolicLink -Path (Join-Path $src 'link') -Target 'hello.txt' | Out-Null
$static = New-DaxFsImage -Path $src -Destination (Join-Path $dir 'static.daxfs') -Owner Root -Force
$expected = @(Get-ChildItem -LiteralPath $src -Recurse -Force | Sort-Object FullName | ForEach-Object {
        $rel = $_.FullName.Substring($src.Length)
        if ($_.LinkType -eq 'SymbolicLink') { @{ Path = $rel; Type = 'SymbolicLink'; Size = 0; Target = $_.LinkTarget; Sha256 = $null } }
        elseif ($_.PSIsContainer) { @{ Path = $rel; Type = 'Directory'; Size = 0; Target = $null; Sha256 = $null } }
        else { @{ Path = $rel; Type = 'File'; Size = $_.Length; Target = $null; Sha256 = (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash } }
    })
$probe = $expected | Where-Object { $_.Type -eq 'File' -and $_.Size -gt 100KB } | Select-Object -Last 1
$bsrc = Join-Path $dir 'bsrc'
New-Item -ItemType Directory -Force (Join-Path $bsrc 'dir') | Out-Null
1..3 | ForEach-Object { Set-Content (Join-Path $bsrc "f$_.txt") "base $_" }
Set-Content (Join-Path $bsrc 'dir/d.txt') 'deep'
$branching = New-DaxFsImage -Path $bsrc -Destination (Join-Path $dir 'branching.daxfs') -Branching -DeltaSize 8MB -Owner Root -Force
$fsrc = Join-Path $dir 'fsrc'
New-Item -ItemType Directory -Force (Join-Path $fsrc 'etc') | Out-Null
Set-Content (Join-Path $fsrc 'etc/motd') 'published by the fleet runbook'
[IO.File]::WriteAllBytes((Join-Path $fsrc 'blob.bin'), [byte[]](0..255 * 64))
New-Item -ItemType SymbolicLink -Path (Join-Path $fsrc 'motd') -Target 'etc/motd' | Out-Null
$fleetImage = New-DaxFsImage -Path $fsrc -Destination (Join-Path $dir 'fleet.daxfs') -Owner Root -Force
$hostsInfo = [ordered]@{
    FleetOffset = 160MB
    Image = $static.Path; ImageSha256 = (Get-FileHash $static.Path -Algorithm SHA256).Hash; ImageSize = $static.TotalSize
    FileBytes = ($expected | Where-Object Type -eq 'File' | Measure-Object Size -Sum).Sum; Expected = $expected; Probe = $probe
    Branching = $branching.Path; BranchSha256 = (Get-FileHash $branching.Path -Algorithm SHA256).Hash; BranchSize = $branching.TotalSize
}
$hostsInfo | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $dir 'hosts.json')
$memory = Join-Path $dir 'memory.img'
$fs = [IO.File]::Create($memory)
try { $fs.SetLength(256MB) } finally { $fs.Dispose() }
# Format 8 on two kernels (HostsV8.Tests.ps1 in A and B, after their format-5 files): its image at 200 MiB.
. $PSScriptRoot/HostsV8.Host.ps1
$v8 = Initialize-HostsV8 $dir $memory 200MB $Kit $KitArgs $KernelModule8 $V8SkipReason
Write-Host ("hosts: static image {0:N0} bytes ({1} entries, {2:N0} bytes of files), branching image {3:N0} bytes, in a 256 MiB memory file" -f $static.TotalSize, $expected.Count, $hostsInfo.FileBytes, $branching.TotalSize)

# The guests start this pwsh's pwsh.dll with dotnet (hosts-guest.sh, the SSH subsystem), not "dotnet pwsh": that goes
# through the SDK's command line to find the tool, which costs each guest seconds of emulated CPU.
$pwshDll = Join-Path $PSHOME 'pwsh.dll'
$env:DAXFS_IT_PWSH = $(if (Test-Path -LiteralPath $pwshDll) { $pwshDll } else { '' })

# ---- sshd in the guests, for the fleet runbook ----
$fleet = -not $NoFleet -and (Test-Path /usr/sbin/sshd) -and (Get-Command ssh -ErrorAction Ignore)
$ports = @()
if ($fleet) {
    $ssh = New-Item -ItemType Directory -Force (Join-Path $dir 'ssh')
    & ssh-keygen -q -t ed25519 -N '' -f (Join-Path $ssh 'host_key') | Out-Null
    & ssh-keygen -q -t ed25519 -N '' -f (Join-Path $ssh 'client_key') | Out-Null
    Copy-Item (Join-Path $ssh 'client_key.pub') (Join-Path $ssh 'authorized_keys')
    & chmod 600 (Join-Path $ssh 'host_key') (Join-Path $ssh 'client_key')
    $pwshWrapper = Join-Path $ssh 'pwsh-sshs.sh'
    # The guest's pwsh for the powershell subsystem: the tool manifest's pwsh, started from the repository folder.
    # The environment the guest's own commands get from run-vm.sh (HOME, the NuGet cache where dotnet finds the tool).
    $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    Set-Content $pwshWrapper ("#!/bin/sh`nexport HOME=/tmp/home DOTNET_CLI_HOME=/tmp/home PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin " +
        "DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 LANG=C.UTF-8 NUGET_PACKAGES='$nuget'`n" +
        "cd '$((Resolve-Path "$PSScriptRoot/../..").Path)' && exec dotnet '$pwshDll' -sshs -NoLogo -NoProfile")
    & chmod 755 $pwshWrapper
    Set-Content (Join-Path $ssh 'sshd_config') @"
Port 22
HostKey $ssh/host_key
AuthorizedKeysFile $ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile /run/sshd.pid
Subsystem powershell $pwshWrapper
"@
    $ports = foreach ($g in $GuestSpecs) { $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $l.Start(); $l.LocalEndpoint.Port; $l.Stop() }
}

# ---- the guests ----
# A guest whose run-vm.sh options convert the NVDIMM (--devdax: C) writes a dax info block into the shared memory as it
# boots; a kernel that probes the NVDIMM after that finds the block and makes dax0.0 of it too, and has no /dev/pmem0
# (seen once in CI: A and B then failed on every test that reads /dev/pmem0). So the guests that read the raw namespace
# start first, and the converting ones once those say their kernel has its /dev/pmem0 (sync/BOOT-booted, hosts-guest.sh).
function Start-Guest($g, [int] $Index) {
    $port = if ($ports) { $ports[$Index] } else { $null }
    $vm = @((Join-Path $Kit 'run-vm.sh')) + $KitArgs + $g.KitArgs + @('--timeout', "$BootTimeout", '--memory-file', $memory, '--memory-size', '256M', '--ram', '2G')
    if ($port) { $vm += @('--ssh-port', "$port") }
    $vm += @('--', 'sh', (Join-Path $PSScriptRoot 'hosts-guest.sh'), $g.Boot, $dir, $PesterPath, (Resolve-Path $ModulePath).Path, $DataPath, (Join-Path $results "$($g.Boot).json"))
    $log = Join-Path $dir "$($g.Boot).console.txt"
    $env:DAXFS_IT_LAUNCHED = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    $p = Start-Process -FilePath bash -ArgumentList $vm -RedirectStandardOutput $log -RedirectStandardError "$log.err" -PassThru
    [pscustomobject]@{ Role = $g.Role; Boot = $g.Boot; Port = $port; Process = $p; Log = $log; Vm = $vm; Restarts = 0 }
}
$guests = [Collections.Generic.List[object]]::new()
$converting = @($GuestSpecs | Where-Object { $_.KitArgs -contains '--devdax' })
foreach ($g in $GuestSpecs) { if ($g -notin $converting) { $guests.Add((Start-Guest $g ([array]::IndexOf($GuestSpecs, $g)))) } }

# Waits for every NAME; false after SECONDS, when a guest's VM has stopped, or when the guest that sends a missing NAME
# (the guest whose Role is the name's first letter) has finished its Pester files without sending it.
# A guest whose kernel panicked while booting (under a heavy load the emulated timer check can fail: "IO-APIC + timer
# doesn't work") is started again, once, before it has sent any signal.
function Restart-PanickedGuest {
    foreach ($g in @($guests | Where-Object { $_.Process.HasExited -and $_.Restarts -eq 0 })) {
        $sent = @(Get-ChildItem $sync -Filter "$($g.Role)-*").Count
        if ($sent -or -not (Select-String -LiteralPath $g.Log -Pattern 'Kernel panic' -Quiet)) { continue }
        Write-Host "hosts: guest $($g.Role)'s kernel panicked while booting; starting it again" -ForegroundColor Yellow
        Copy-Item -LiteralPath $g.Log "$($g.Log).panic" -Force
        $g.Restarts++
        $env:DAXFS_IT_LAUNCHED = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        $g.Process = Start-Process -FilePath bash -ArgumentList $g.Vm -RedirectStandardOutput $g.Log -RedirectStandardError "$($g.Log).err" -PassThru
    }
}
function Wait-Signal([string[]] $Names, [int] $Seconds = $BootTimeout) {
    $limit = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ($missing = @($Names | Where-Object { -not (Test-Path (Join-Path $sync $_)) })) {
        Restart-PanickedGuest
        if ([DateTime]::UtcNow -gt $limit -or @($guests.Process | Where-Object HasExited).Count) { return $false }
        foreach ($n in $missing) {
            $sender = $guests | Where-Object { $n -like "$($_.Role)-*" } | Select-Object -First 1
            if ($sender -and (Test-Path (Join-Path $sync "$($sender.Boot)-suite-done")) -and -not (Test-Path (Join-Path $sync $n))) { return $false }
        }
        Start-Sleep -Milliseconds 250
    }
    $true
}
# The converting guests start once the others have their /dev/pmem0 (a panicked boot is started again first).
if ($converting) {
    $booted = @($guests | ForEach-Object { Join-Path $sync "$($_.Boot)-booted" })
    $clock = [Diagnostics.Stopwatch]::StartNew()
    while (@($booted | Where-Object { -not (Test-Path $_) }).Count -and $clock.Elapsed.TotalSeconds -lt $BootTimeout) {
        Restart-PanickedGuest
        if (@($guests | Where-Object { $_.Process.HasExited -and $_.Restarts -gt 0 }).Count) { break }
        Start-Sleep -Milliseconds 250
    }
    Write-Host ("hosts: {0} up with /dev/pmem0 after {1:N0} s; starting {2}" -f (($guests | ForEach-Object Role) -join ', '), $clock.Elapsed.TotalSeconds, (($converting | ForEach-Object Role) -join ', '))
    foreach ($g in $converting) { $guests.Add((Start-Guest $g ([array]::IndexOf($GuestSpecs, $g)))) }
}
Write-Host "hosts: $(@($guests).Count) guests started (pids $($guests.Process.Id -join ', '))$(if ($fleet) { ", SSH on 127.0.0.1:$($ports -join ', ')" })"

# Written whole under another name, then renamed (as the guests' Send-Signal, Hosts.Common.ps1).
function Send-Signal([string] $Name) { Set-Content (Join-Path $sync ".$Name.tmp") ([DateTimeOffset]::UtcNow.ToString('o')); Move-Item (Join-Path $sync ".$Name.tmp") (Join-Path $sync $Name) -Force }
# The branching image as the memory file holds it now (this machine reading the pool's memory offline).
function Save-Region([long] $Offset, [long] $Length, [string] $Name) {
    $out = Join-Path $dir $Name
    $in = [IO.File]::Open($memory, 'Open', 'Read', 'ReadWrite')
    try { $in.Position = $Offset; $b = [byte[]]::new($Length); $in.ReadExactly($b); [IO.File]::WriteAllBytes($out, $b) } finally { $in.Dispose() }
    $out
}

# Whatever fails on this side, the guests are told to stop (fleet-done) and waited for.
$offline = [ordered]@{}; $fleetInfo = $null
try {
    # Where the images lie: after dax0.0's metadata, at the offset guest C reports.
    $dataOffset = $null
    if (Wait-Signal 'C-ready') {
        $c = Get-Content -Raw (Join-Path $sync 'C-ready') | ConvertFrom-Json
        if ($c -and $c.PSObject.Properties['DataOffset']) { $dataOffset = [long]$c.DataOffset; $offline.DataOffset = $dataOffset }
        else { Test-Fact 'guest C reported where dax0.0 starts' $false "sync/C-ready: '$(Get-Content -Raw (Join-Path $sync 'C-ready'))'" }
    }
    else { Test-Fact 'guest C reported where dax0.0 starts' $false }
    if ($null -ne $dataOffset -and (Wait-Signal 'A-written')) {
        try {
            $snap = Save-Region $dataOffset $static.TotalSize 'static-written.daxfs'
            Test-Fact 'offline: the memory file holds the image A wrote byte for byte' ((Get-FileHash $snap -Algorithm SHA256).Hash -eq $hostsInfo.ImageSha256)
            Remove-Item $snap
        }
        catch { Test-Fact 'offline: reading the image from the memory file' $false "$_" }
    }
    Send-Signal 'host-read-static'
    if ($null -ne $dataOffset -and (Wait-Signal 'A-branched', 'B-branched', 'C-checked')) {
        try {
        $snap = Save-Region $dataOffset $branching.TotalSize 'branches-active.daxfs'
        $t = @(Get-DaxFsBranch $snap)
        $offline.WhileActive = @($t | ForEach-Object { '{0} id {1} parent {2} {3} log 0x{4:x} {5} entries refs {6}' -f $_.Name, $_.Id, $_.Parent, $_.State, $_.LogOffset, $_.EntryCount, $_.RefCount })
        Test-Fact 'offline: both kernels'' branches are ACTIVE in the memory file' ((@($t | Where-Object { $_.Name -in 'brA', 'brB' -and $_.State -eq 'Active' }).Count -eq 2)) ($offline.WhileActive -join '; ')
        Test-Fact 'offline: each branch has its own delta log' ($t.Count -gt 1 -and @($t | ForEach-Object LogOffset | Sort-Object -Unique).Count -eq $t.Count)
        $ca = @(Compare-DaxFsBranch $snap -Branch brA); $cb = @(Compare-DaxFsBranch $snap -Branch brB)
        Test-Fact 'offline: Compare-DaxFsBranch shows each kernel''s changes' (($ca.Path -contains '/new-A.txt') -and ($cb.Path -contains '/new-B.txt') -and -not ($ca.Path -contains '/new-B.txt')) (($ca + $cb | ForEach-Object { "$($_.Change) $($_.Path)" }) -join ', ')
        }
        catch { Test-Fact 'offline: reading both kernels'' branches from the memory file' $false "$_" }
    }
    else { Test-Fact 'the guests made their branches and C checked them' $false }
    Send-Signal 'host-read-branches'
    if ($null -ne $dataOffset -and (Wait-Signal 'B-saw-stale')) {
        try {
        $snap = Save-Region $dataOffset $branching.TotalSize 'branches-committed.daxfs'
        $t = @(Get-DaxFsBranch $snap)
        $offline.AfterCommit = @($t | ForEach-Object { '{0} id {1} {2} gen {3}' -f $(if ($_.Name) { $_.Name } else { '(no name)' }), $_.Id, $_.State, $_.Generation })
        Test-Fact 'offline: after the commit brB is ABORTED with its name kept, brA COMMITTED' ((@($t | Where-Object { $_.Name -eq 'brB' -and $_.State -eq 'Aborted' }).Count -eq 1) -and (@($t | Where-Object State -eq 'Committed').Count -eq 1)) ($offline.AfterCommit -join '; ')
        $main = @(Get-DaxFsItem $snap -Branch main -Recurse)
        Test-Fact 'offline: main shows the commit' ($main.FullName -contains '/new-A.txt' -and (Get-DaxFsContent $snap -Branch main -Path /f1.txt) -eq 'changed by A')
        $null = Compare-DaxFsBranch $snap -Branch brB -WarningVariable warned -WarningAction SilentlyContinue
        $offline.InvalidatedWarning = "$($warned | Select-Object -First 1)"
        Test-Fact 'offline: Compare-DaxFsBranch warns that brB was invalidated (its mounts answer ESTALE)' ("$warned" -match 'ESTALE') $offline.InvalidatedWarning
        }
        catch { Test-Fact 'offline: reading the branches after the commit from the memory file' $false "$_" }
    }
    else { Test-Fact 'guest B saw its branch go stale' $false }
    Send-Signal 'host-read-stale'
    $offline.Format8 = Test-HostsV8Offline $v8 $dir

    $suitesDone = Wait-Signal @($guests | ForEach-Object { "$($_.Boot)-suite-done" })

    # ---- the fleet runbook across the guests, over SSH ----
    $fleetInfo = $null
    if ($fleet -and $suitesDone) {
        $fw = [Diagnostics.Stopwatch]::StartNew()
        $sessions = @()
        try {
            $key = Join-Path $dir 'ssh/client_key'
            # All at once (New-PSSession opens the connections in parallel): each starts a pwsh in its guest. The port goes
            # in the host name: with -SSHConnection hashtables this pwsh dropped the Port key in some processes and not in
            # others (ssh went to port 22 for all three guests in two runs of five, and in 3 of 6 runs of a bare
            # reproduction; the keys' order differs per process), while "host:port" names are read the same every time.
            $sessions = @(New-PSSession -Name $guests.Boot -HostName @($guests | ForEach-Object { "127.0.0.1:$($_.Port)" }) -UserName root -KeyFilePath $key `
                    -ConnectingTimeout 600000 -Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' } -ErrorAction Stop)
            # In the order of the guests (A, the writer, first).
            $sessions = @($guests | ForEach-Object { $b = $_.Boot; $sessions | Where-Object Name -eq $b })
            $connect = $fw.Elapsed.TotalSeconds
            $module = (Resolve-Path $ModulePath).Path
            $phys = [uint64]0x100000000 + [uint64]$hostsInfo.FleetOffset
            $r = @(& (Join-Path $PSScriptRoot '../../docs/runbooks/Publish-DaxFsImageToFleet.ps1') -Image $fleetImage.Path -Session $sessions -PhysicalAddress $phys -Size 32MB -MountPoint /tmp/fleet -ModulePath $module -Confirm:$false -ErrorAction Continue)
            $fleetInfo = [ordered]@{ ConnectSeconds = [math]::Round($connect, 1); Results = @($r | ForEach-Object { "$($_.Host) $($_.Role) $($_.Status) $($_.FilesVerified) files $($_.Error)" }) }
            Test-Fact "fleet: one result per host, published and verified on all $($sessions.Count) guests over SSH remoting" ($r.Count -eq $sessions.Count -and @($r | Where-Object Status -eq 'Published').Count -eq $sessions.Count -and @($r | Where-Object Role -eq 'Writer').Count -eq 1) ($fleetInfo.Results -join '; ')
            # The inventory across the guests: the same image at /tmp/fleet everywhere, named by its SHA-256.
            $inv = @(& (Join-Path $PSScriptRoot '../../docs/runbooks/Get-DaxFsFleetInventory.ps1') -Session $sessions -Image $fleetImage.Path -ModulePath $module)
            $fleetInfo.Inventory = @($inv | ForEach-Object { "$($_.Host) $($_.Status) $($_.MountPoint) $($_.ImageName) $($_.Format) agrees=$($_.Agrees) $($_.Error)" })
            $atFleet = @($inv | Where-Object MountPoint -eq '/tmp/fleet')
            Test-Fact 'fleet: the inventory shows fleet.daxfs mounted at /tmp/fleet on every guest, all agreeing' ($atFleet.Count -eq $sessions.Count -and @($atFleet | Where-Object { $_.Status -eq 'Mounted' -and $_.ImageName -eq 'fleet.daxfs' -and $_.Agrees -and $_.Sha256 -eq $r[0].ImageSha256 }).Count -eq $sessions.Count) ($fleetInfo.Inventory -join '; ')
            # The module's objects come back deserialized: their views still apply, and they bind by property name.
            $m = @(Invoke-Command -Session $sessions { Import-Module $using:module; Get-DaxFsMount -MountPoint /tmp/fleet })
            Test-Fact 'fleet: Get-DaxFsMount comes back as Deserialized.DaxFs.DaxFsMount from each guest' ((@($m | Where-Object { $_.PSTypeNames -contains 'Deserialized.DaxFs.DaxFsMount' }).Count -eq $sessions.Count))
            $table = $m | Format-Table | Out-String
            Test-Fact 'fleet: the DaxFsMount view formats the deserialized mounts' ($table -match 'MountPoint' -and $table -match '/tmp/fleet') ($table.Trim() -split "`n" | Select-Object -First 1)
            # Items listed on one guest, sent back to another one's session: Get-DaxFsContent binds them by property name.
            $items = @(Invoke-Command -Session $sessions[1] { Import-Module $using:module; Get-DaxFsItem /tmp/fleet -Recurse -Type File })
            $read = @(Invoke-Command -Session $sessions[-1] { param($i) Import-Module $using:module; $i | ForEach-Object { [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]($_ | Get-DaxFsContent -AsByteStream -Raw))) } } -ArgumentList (, $items))
            $want = @($items | ForEach-Object { [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]](Get-DaxFsContent $fleetImage.Path -Path $_.FullName -AsByteStream -Raw))) })
            Test-Fact 'fleet: deserialized items bind to Get-DaxFsContent in another guest and read the published bytes' ($items.Count -ge 2 -and $items[0].PSTypeNames[0] -eq 'Deserialized.DaxFs.DaxFsItem' -and ($read -join ',') -eq ($want -join ',')) "$($items.Count) files"
            $mine = @($m | Where-Object RunspaceId -eq $sessions[0].InstanceId)
            $back = Invoke-Command -Session $sessions[0] { param($mounts) $mounts | Dismount-DaxFs -Confirm:$false; @(Get-DaxFsMount -MountPoint /tmp/fleet -ErrorAction SilentlyContinue).Count } -ArgumentList (, $mine)
            Invoke-Command -Session $sessions[1..($sessions.Count - 1)] { Dismount-DaxFs -MountPoint /tmp/fleet -Confirm:$false }
            Test-Fact 'fleet: a mount object sent back binds to Dismount-DaxFs by property name' ($mine.Count -eq 1 -and $back -eq 0)
            $fleetInfo.Seconds = [math]::Round($fw.Elapsed.TotalSeconds, 1)
        }
        catch { Test-Fact 'fleet: the runbooks ran over SSH remoting' $false "$_" }
        finally { $sessions | Remove-PSSession -ErrorAction SilentlyContinue }
    }
    elseif (-not $NoFleet -and -not $fleet) { Test-Fact 'fleet: sshd and ssh for the runbooks over SSH remoting' $false 'no /usr/sbin/sshd or ssh here: apt-get install openssh-server openssh-client (Prerequisites.psd1)' }
}
catch { Test-Fact 'the host''s side of the boot ran to its end' $false "$_ ($($_.InvocationInfo.PositionMessage))" }
Send-Signal 'fleet-done'

foreach ($g in $guests) { if (-not $g.Process.WaitForExit($BootTimeout * 1000)) { $g.Process.Kill($true) } }
$watch.Stop()
$passed = 0; $failed = 0; $skipped = 0; $notes = @(); $times = [ordered]@{}
foreach ($g in $guests) {
    $json = Join-Path $results "$($g.Boot).json"
    $code = $g.Process.ExitCode
    if (Test-Path $json) {
        $r = Get-Content -Raw $json | ConvertFrom-Json; $passed += $r.Passed; $failed += $r.Failed; $skipped += $r.Skipped
        $times[$g.Role] = [ordered]@{ PwshStartSeconds = $r.StartSeconds; TestSeconds = $r.TestSeconds; Passed = $r.Passed; Failed = $r.Failed }
    }
    else { $failed++; $notes += "$($g.Boot) wrote no results (exit $code)" }
    if ($code -ne 0) { $notes += "$($g.Boot) exited with $code"; Get-Content $g.Log -Tail 40 | ForEach-Object { Write-Host "  $($g.Boot): $_" -ForegroundColor Red } }
}
$passed += @($checks | Where-Object Ok).Count
$failed += @($checks | Where-Object { -not $_.Ok }).Count
$measured = [ordered]@{}
foreach ($role in $guests.Role) { $f = Join-Path $results "hosts-$role.json"; if (Test-Path $f) { $measured[$role] = Get-Content -Raw $f | ConvertFrom-Json } }
foreach ($role in 'A', 'B') { $f = Join-Path $results "hostsv8-$role.json"; if (Test-Path $f) { $measured["$role-format8"] = Get-Content -Raw $f | ConvertFrom-Json } }
$report = [ordered]@{ GuestTimes = $times; Guests = $measured; Offline = $offline; Fleet = $fleetInfo; Checks = @($checks) }
$report | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $results 'hosts-report.json')
Write-Host "hosts: measured (also in $results/hosts-report.json):"
Write-Host ($report | ConvertTo-Json -Depth 6)
[pscustomobject]@{ Name = 'hosts'; ExitCode = $(if ($notes) { 1 } else { 0 }); Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1)
    PwshStartSeconds = ($times.Values | ForEach-Object { $_.PwshStartSeconds } | Measure-Object -Maximum).Maximum
    TestSeconds = ($times.Values | ForEach-Object { $_.TestSeconds } | Measure-Object -Maximum).Maximum
    FleetSeconds = $(if ($fleetInfo -and $fleetInfo.Contains('Seconds')) { $fleetInfo.Seconds } else { $null })
    Passed = $passed; Failed = $failed; Skipped = $skipped; Note = ($notes -join '; ') }
