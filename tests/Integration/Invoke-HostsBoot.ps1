<#
.SYNOPSIS
    The hosts boot of the integration suite: two guests (two kernels) on one --memory-file, plus this machine reading
    the memory file offline. Started by Invoke-Integration.ps1 -Boot hosts; returns that boot's entry.
.DESCRIPTION
    Guest A (HostsWriter.Tests.ps1) writes a 40 MiB static image into the shared memory with Write-DaxFsImage while guest
    B (HostsReader.Tests.ps1) keeps trying to mount it with mount(2); B then mounts it by physical range, reads every file
    identical to the source and measures its page cache; both make a sibling branch of a branching image, A commits,
    B measures what its branch and its main mount show. Between those turns this machine reads the memory file offline
    (Get-DaxFsBranch, Compare-DaxFsBranch, Get-DaxFsItem -Branch main). Then both guests switch to the format-8 module
    (when the kit has kernel/daxfs-v8.ko) and write one overlay image at once (HostsV8.Tests.ps1); this machine reads the
    memory file offline and compares with a fresh mount (HostsV8.Host.ps1). When sshd is installed here, the guests run it and
    docs/runbooks/Publish-DaxFsImageToFleet.ps1 runs across both over PowerShell remoting (SSH).
#>
param(
    [Parameter(Mandatory)] [string] $Kit,
    [string[]] $KitArgs = @(),
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $DataPath,
    [int] $BootTimeout = 2400,
    # Skip the fleet runbook over SSH even where sshd is installed.
    [switch] $NoFleet
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
    StaticOffset = 0; BranchOffset = 96MB; FleetOffset = 128MB
    Image = $static.Path; ImageSha256 = (Get-FileHash $static.Path -Algorithm SHA256).Hash; ImageSize = $static.TotalSize
    FileBytes = ($expected | Where-Object Type -eq 'File' | Measure-Object Size -Sum).Sum; Expected = $expected; Probe = $probe
    BranchSize = $branching.TotalSize
}
$hostsInfo | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $dir 'hosts.json')
$memory = Join-Path $dir 'memory.img'
$fs = [IO.File]::Create($memory)
try { $fs.SetLength(256MB); $fs.Position = 96MB; $b = [IO.File]::ReadAllBytes($branching.Path); $fs.Write($b, 0, $b.Length) } finally { $fs.Dispose() }
# Format 8 on two kernels (HostsV8.Tests.ps1 in both guests, after their format-5 files): its image at 160 MiB.
. $PSScriptRoot/HostsV8.Host.ps1
$v8 = Initialize-HostsV8 $dir $memory 160MB $Kit $KitArgs
Write-Host ("hosts: static image {0:N0} bytes ({1} entries, {2:N0} bytes of files), branching image {3:N0} bytes, in a 256 MiB memory file" -f $static.TotalSize, $expected.Count, $hostsInfo.FileBytes, $branching.TotalSize)

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
        "cd '$((Resolve-Path "$PSScriptRoot/../..").Path)' && exec dotnet pwsh -sshs -NoLogo -NoProfile")
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
    $ports = foreach ($i in 1..2) { $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $l.Start(); $l.LocalEndpoint.Port; $l.Stop() }
}

# ---- the two guests ----
$guests = foreach ($g in @(@{ Boot = 'hosts-writer'; Port = $ports | Select-Object -First 1 }, @{ Boot = 'hosts-reader'; Port = $ports | Select-Object -Skip 1 -First 1 })) {
    $vm = @((Join-Path $Kit 'run-vm.sh')) + $KitArgs + @('--timeout', "$BootTimeout", '--memory-file', $memory, '--memory-size', '256M', '--ram', '2G')
    if ($g.Port) { $vm += @('--ssh-port', "$($g.Port)") }
    $vm += @('--', 'sh', (Join-Path $PSScriptRoot 'hosts-guest.sh'), $g.Boot, $dir, $PesterPath, (Resolve-Path $ModulePath).Path, $DataPath, (Join-Path $results "$($g.Boot).json"))
    $log = Join-Path $dir "$($g.Boot).console.txt"
    $env:DAXFS_IT_LAUNCHED = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    $p = Start-Process -FilePath bash -ArgumentList $vm -RedirectStandardOutput $log -RedirectStandardError "$log.err" -PassThru
    [pscustomobject]@{ Boot = $g.Boot; Port = $g.Port; Process = $p; Log = $log }
}
Write-Host "hosts: guests started (pids $($guests.Process.Id -join ', '))$(if ($fleet) { ", SSH on 127.0.0.1:$($ports -join ', ')" })"

function Wait-Signal([string[]] $Names, [int] $Seconds = $BootTimeout) {
    $limit = [DateTime]::UtcNow.AddSeconds($Seconds)
    while (@($Names | Where-Object { -not (Test-Path (Join-Path $sync $_)) }).Count) {
        if ([DateTime]::UtcNow -gt $limit -or @($guests.Process | Where-Object HasExited).Count) { return $false }
        Start-Sleep -Milliseconds 250
    }
    $true
}
function Send-Signal([string] $Name) { Set-Content (Join-Path $sync $Name) ([DateTimeOffset]::UtcNow.ToString('o')) }
# The branching image as the memory file holds it now (this machine reading the pool's memory offline).
function Save-Region([long] $Offset, [long] $Length, [string] $Name) {
    $out = Join-Path $dir $Name
    $in = [IO.File]::Open($memory, 'Open', 'Read', 'ReadWrite')
    try { $in.Position = $Offset; $b = [byte[]]::new($Length); $in.ReadExactly($b); [IO.File]::WriteAllBytes($out, $b) } finally { $in.Dispose() }
    $out
}

$offline = [ordered]@{}
if (Wait-Signal 'A-branched', 'B-branched') {
    try {
    $snap = Save-Region 96MB $branching.TotalSize 'branches-active.daxfs'
    $t = @(Get-DaxFsBranch $snap)
    $offline.WhileActive = @($t | ForEach-Object { '{0} id {1} parent {2} {3} log 0x{4:x} {5} entries refs {6}' -f $_.Name, $_.Id, $_.Parent, $_.State, $_.LogOffset, $_.EntryCount, $_.RefCount })
    Test-Fact 'offline: both kernels'' branches are ACTIVE in the memory file' ((@($t | Where-Object { $_.Name -in 'brA', 'brB' -and $_.State -eq 'Active' }).Count -eq 2)) ($offline.WhileActive -join '; ')
    Test-Fact 'offline: each branch has its own delta log' ($t.Count -gt 1 -and @($t | ForEach-Object LogOffset | Sort-Object -Unique).Count -eq $t.Count)
    $ca = @(Compare-DaxFsBranch $snap -Branch brA); $cb = @(Compare-DaxFsBranch $snap -Branch brB)
    Test-Fact 'offline: Compare-DaxFsBranch shows each kernel''s changes' (($ca.Path -contains '/new-A.txt') -and ($cb.Path -contains '/new-B.txt') -and -not ($ca.Path -contains '/new-B.txt')) (($ca + $cb | ForEach-Object { "$($_.Change) $($_.Path)" }) -join ', ')
    }
    catch { Test-Fact 'offline: reading both kernels'' branches from the memory file' $false "$_" }
}
else { Test-Fact 'the guests made their branches' $false }
Send-Signal 'host-read-branches'
if (Wait-Signal 'B-saw-stale') {
    try {
    $snap = Save-Region 96MB $branching.TotalSize 'branches-committed.daxfs'
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

$suitesDone = Wait-Signal 'hosts-writer-suite-done', 'hosts-reader-suite-done'
if ($suitesDone) {
    try {
        $snap = Save-Region 0 $static.TotalSize 'static-after.daxfs'
        Test-Fact 'offline: the memory holds the image byte for byte after both kernels mounted it' ((Get-FileHash $snap -Algorithm SHA256).Hash -eq $hostsInfo.ImageSha256)
    }
    catch { Test-Fact 'offline: reading the image from the memory file' $false "$_" }
}

# ---- the fleet runbook across both guests, over SSH ----
$fleetInfo = $null
if ($fleet -and $suitesDone) {
    $fw = [Diagnostics.Stopwatch]::StartNew()
    $sessions = @()
    try {
        $key = Join-Path $dir 'ssh/client_key'
        $sessions = foreach ($g in $guests) {
            New-PSSession -HostName 127.0.0.1 -Port $g.Port -UserName root -KeyFilePath $key -Name ($g.Boot -replace 'hosts-') -ConnectingTimeout 600000 -Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' } -ErrorAction Stop
        }
        $connect = $fw.Elapsed.TotalSeconds
        $phys = [uint64]0x100000000 + 128MB
        $r = @(& (Join-Path $PSScriptRoot '../../docs/runbooks/Publish-DaxFsImageToFleet.ps1') -Image $fleetImage.Path -Session $sessions -PhysicalAddress $phys -Size 32MB -MountPoint /tmp/fleet -ModulePath (Resolve-Path $ModulePath).Path -Confirm:$false -ErrorAction Continue)
        $fleetInfo = [ordered]@{ ConnectSeconds = [math]::Round($connect, 1); Results = @($r | ForEach-Object { "$($_.Host) $($_.Role) $($_.Status) $($_.FilesVerified) files $($_.Error)" }) }
        Test-Fact 'fleet: published and verified on both guests over SSH remoting' ((@($r | Where-Object Status -eq 'Published').Count -eq 2)) ($fleetInfo.Results -join '; ')
        # The module's objects come back deserialized: their views still apply, and they bind by property name.
        $m = @(Invoke-Command -Session $sessions { Get-DaxFsMount -MountPoint /tmp/fleet })
        Test-Fact 'fleet: Get-DaxFsMount comes back as Deserialized.DaxFs.DaxFsMount from each guest' ((@($m | Where-Object { $_.PSTypeNames -contains 'Deserialized.DaxFs.DaxFsMount' }).Count -eq 2))
        $table = $m | Format-Table | Out-String
        Test-Fact 'fleet: the DaxFsMount view formats the deserialized mounts' ($table -match 'MountPoint' -and $table -match '/tmp/fleet') ($table.Trim() -split "`n" | Select-Object -First 1)
        $back = Invoke-Command -Session $sessions[0] { param($mounts) $mounts | Dismount-DaxFs -Confirm:$false; @(Get-DaxFsMount -MountPoint /tmp/fleet -ErrorAction SilentlyContinue).Count } -ArgumentList (, @($m | Where-Object PSComputerName -eq $sessions[0].ComputerName | Select-Object -First 1))
        Invoke-Command -Session $sessions[1] { Dismount-DaxFs -MountPoint /tmp/fleet -Confirm:$false }
        Test-Fact 'fleet: a mount object sent back binds to Dismount-DaxFs by property name' ($back -eq 0)
        $fleetInfo.Seconds = [math]::Round($fw.Elapsed.TotalSeconds, 1)
    }
    catch { Test-Fact 'fleet: the runbook ran over SSH remoting' $false "$_" }
    finally { $sessions | Remove-PSSession -ErrorAction SilentlyContinue }
}
elseif (-not $fleet) { Write-Host 'hosts: the fleet runbook over SSH is skipped (no /usr/sbin/sshd here: apt-get install openssh-server)' -ForegroundColor Yellow }
Send-Signal 'fleet-done'

foreach ($g in $guests) { if (-not $g.Process.WaitForExit($BootTimeout * 1000)) { $g.Process.Kill($true) } }
$watch.Stop()
$passed = 0; $failed = 0; $skipped = 0; $notes = @()
foreach ($g in $guests) {
    $json = Join-Path $results "$($g.Boot).json"
    $code = $g.Process.ExitCode
    if (Test-Path $json) { $r = Get-Content -Raw $json | ConvertFrom-Json; $passed += $r.Passed; $failed += $r.Failed; $skipped += $r.Skipped }
    else { $failed++; $notes += "$($g.Boot) wrote no results (exit $code)" }
    if ($code -ne 0) { $notes += "$($g.Boot) exited with $code"; Get-Content $g.Log -Tail 40 | ForEach-Object { Write-Host "  $($g.Boot): $_" -ForegroundColor Red } }
}
$passed += @($checks | Where-Object Ok).Count
$failed += @($checks | Where-Object { -not $_.Ok }).Count
$measured = [ordered]@{}
foreach ($role in 'A', 'B') { $f = Join-Path $results "hosts-$role.json"; if (Test-Path $f) { $measured[$role] = Get-Content -Raw $f | ConvertFrom-Json } }
foreach ($role in 'A', 'B') { $f = Join-Path $results "hostsv8-$role.json"; if (Test-Path $f) { $measured["$role-format8"] = Get-Content -Raw $f | ConvertFrom-Json } }
$report = [ordered]@{ Guests = $measured; Offline = $offline; Fleet = $fleetInfo; Checks = @($checks) }
$report | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $results 'hosts-report.json')
Write-Host "hosts: measured (also in $results/hosts-report.json):"
Write-Host ($report | ConvertTo-Json -Depth 6)
[pscustomobject]@{ Name = 'hosts'; ExitCode = $(if ($notes) { 1 } else { 0 }); Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1); Passed = $passed; Failed = $failed; Skipped = $skipped; Note = ($notes -join '; ') }
